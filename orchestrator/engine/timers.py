"""ISO-8601 checks for literal timer expressions, as SpiffWorkflow will read them at run time.

A cycle timer repeats at most once a minute: SpiffWorkflow fires every cycle that has fallen due
before it lets the step end, so ``R/PT0S`` (for ever, at once) would keep one request running for
ever. A literal cycle is checked here, at deploy; one computed from process data is stopped when it
would fire a second time in a step (``workflow.py``).
"""

import ast
import re
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

DURATION = re.compile(
    r"^P(?!$)(\d+(?:[.,]\d+)?Y)?(\d+(?:[.,]\d+)?M)?(\d+(?:[.,]\d+)?W)?(\d+(?:[.,]\d+)?D)?"
    r"(T(?=\d)(\d+(?:[.,]\d+)?H)?(\d+(?:[.,]\d+)?M)?(\d+(?:[.,]\d+)?S)?)?$"
)
KINDS = {"timeDuration": "duration", "timeDate": "date", "timeCycle": "cycle"}
MIN_CYCLE_SECONDS = 60


def _is_date(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def check_literal(kind: str, value: str) -> str | None:
    """Return why a literal timer value is invalid, or None when SpiffWorkflow can use it."""
    if kind == "duration" and not DURATION.match(value):
        return f"'{value}' is not an ISO-8601 duration such as \"P3D\" or \"PT12H\""
    if kind == "date" and not _is_date(value):
        return f"'{value}' is not an ISO-8601 date-time such as \"2026-12-01T09:00:00+02:00\""
    if kind == "cycle":
        return _check_cycle(value)
    return None


def _check_cycle(value: str) -> str | None:
    parts = value.split("/")
    if len(parts) not in (2, 3) or not re.fullmatch(r"R\d*", parts[0]):
        return f"'{value}' is not an ISO-8601 cycle such as \"R3/P1D\""
    for part in parts[1:]:
        if not (DURATION.match(part) or _is_date(part)):
            return f"'{value}' is not an ISO-8601 cycle: '{part}' is neither a duration nor a date-time"
    try:
        seconds = TimerEventDefinition.parse_iso_recurring_interval(value)[2].total_seconds()
    except Exception:  # noqa: BLE001 - SpiffWorkflow says why with plain errors
        return f"'{value}' is not an ISO-8601 cycle SpiffWorkflow can read, such as \"R3/P1D\""
    if seconds < MIN_CYCLE_SECONDS:
        return (f"'{value}' repeats every {seconds:g} s; a cycle timer may repeat at most once a minute "
                f"(every {MIN_CYCLE_SECONDS} s or longer)")
    return None


def check_expression(kind: str, expression: str) -> str | None:
    """Timer expressions are Python: compile them, and check a literal string's ISO-8601 form."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        return f"timer expression does not compile: {exc.msg} (a literal needs quotes, e.g. \"P3D\")"
    if isinstance(tree.body, ast.Name) and check_literal("duration", tree.body.id) is None:
        return f"timer expression {tree.body.id} needs quotes to be a duration: write \"{tree.body.id}\""
    if isinstance(tree.body, ast.Constant):
        if not isinstance(tree.body.value, str):
            return f"timer expression must be an ISO-8601 string, not {tree.body.value!r}"
        return check_literal(kind, tree.body.value)
    return None  # depends on process variables: checked when evaluated, an incident if wrong
