"""ISO-8601 checks for literal timer expressions, as SpiffWorkflow will read them at run time.

A cycle timer repeats at most once a minute: SpiffWorkflow fires every cycle that has fallen due
before it lets the step end, so ``R/PT0S`` (for ever, at once) would keep one request running for
ever. A literal cycle is checked here, at deploy; one computed from process data is stopped when it
would fire a second time in a step (``workflow.py``).
"""

import ast
import re
from datetime import UTC, datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from . import calendar

KINDS = {"timeDuration": "duration", "timeDate": "date", "timeCycle": "cycle"}
MIN_CYCLE_SECONDS = 60
HELPERS = ("next_at", "plan_at")  # the calendar helpers whose literal arguments are read at deploy
TRIAL = datetime(2026, 1, 5, 9, tzinfo=UTC)  # a fixed moment to try durations and helpers from


def _is_date(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def check_literal(kind: str, value: str) -> str | None:
    """Return why a literal timer value is invalid, or None when SpiffWorkflow can use it."""
    if kind == "duration":
        return _check_duration(value)
    if kind == "date" and not _is_date(value):
        return f"'{value}' is not an ISO-8601 date-time such as \"2026-12-01T09:00:00+02:00\""
    if kind == "cycle":
        return _check_cycle(value)
    return None


def _check_duration(value: str) -> str | None:
    """A duration as the calendar reads it, tried from a fixed date (a century on is still on the calendar)."""
    try:
        calendar.add(TRIAL, value, "UTC")
    except calendar.CalendarError as exc:
        return str(exc)
    return None


def _check_cycle(value: str) -> str | None:
    parts = value.split("/")
    if len(parts) not in (2, 3) or not re.fullmatch(r"R\d*", parts[0]):
        return f"'{value}' is not an ISO-8601 cycle such as \"R3/P1D\""
    for part in parts[1:]:
        if not (_check_duration(part) is None or _is_date(part)):
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
    body = tree.body
    if kind != "date" and isinstance(body, ast.Call) and getattr(body.func, "id", None) in HELPERS:
        return f"{body.func.id}(…) gives a date-time: use it in a timeDate timer, not a {kind} timer"
    for node in ast.walk(tree):
        reason = _check_helper(node)
        if reason:
            return reason
    return None  # depends on process variables: checked when evaluated, an incident if wrong


def _check_helper(node: ast.AST) -> str | None:
    """A call of a calendar helper with literal arguments is read at deploy: ``next_at("25:00")`` is refused."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in HELPERS):
        return None
    args = [a.value for a in node.args if isinstance(a, ast.Constant)]
    keywords = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
    if len(args) != len(node.args) or len(keywords) != len(node.keywords):
        return None  # some argument is a process variable: read when the timer is set
    try:
        if node.func.id == "next_at":
            unknown = set(keywords) - {"on", "after"}
            if unknown:
                return f"next_at takes the times of day and on=, after=; not {', '.join(sorted(unknown))}="
            calendar.next_at(TRIAL, "UTC", args, keywords.get("on"), keywords.get("after"))
        elif len(args) != 2 or keywords:
            return "plan_at takes a day of the plan and a time of day, e.g. plan_at(7, \"07:00\")"
        else:
            calendar.plan_at(TRIAL, "UTC", *args)
    except (ValueError, OverflowError, TypeError) as exc:  # CalendarError is a ValueError
        return f"{node.func.id}: {exc}"
    return None
