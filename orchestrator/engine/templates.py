"""Templates of a pathway (instructions, reminders), rendered within limits.

A human task's instructions and a timer's reminder may show process variables (``{{ nimi }}``);
Polku renders them with Jinja's sandbox when it projects the task or sends the reminder. The
sandbox keeps a template from reaching the server; here it is also kept from exhausting it:
``{{ 'a' * 20000000 }}`` is refused before it is built (Jinja's ``intercepted_binops`` send its
operators through the same checks as scripts', ``guards.binop``), the filters that can grow a text
check their arguments, the output is cut off at :data:`MAX_RENDERED` characters, and rendering runs
under the same deadline and memory allowance as a script (``limits.watched``).

:func:`check_instructions` renders the instructions of each task the engine has just opened, so that
a template over a limit becomes an incident on the instance, naming the task, in the step that
opened it; the projection then shows that template as written.
"""

import re
from functools import lru_cache

from jinja2 import Template, TemplateSyntaxError, filters
from jinja2.sandbox import SandboxedEnvironment
from SpiffWorkflow.util.task import TaskState

from . import guards
from .limits import LimitExceeded, watched

MAX_TEMPLATE = 20_000  # characters of a template as written; a longer one is shown as written
MAX_RENDERED = 100_000  # characters a template may render to
FORMAT_FIELD = re.compile(r"\{[^{}]*\}")


class LimitedEnvironment(SandboxedEnvironment):
    """Jinja's sandbox with the bounds of ``guards``: operators, growing methods and filters."""

    intercepted_binops = frozenset(guards.CHECKS)

    def __init__(self, **options):
        super().__init__(**options)
        self.globals.pop("lipsum", None)  # lorem ipsum of any length: no use to a pathway
        self.filters.update(center=_center, indent=_indent, format=_format, join=_join, replace=_replace,
                            batch=_batch, slice=_slice)

    def call_binop(self, context, operator: str, left, right):
        return guards.binop(operator, left, right)

    def getattr(self, obj, attribute):
        return _bounded(obj, attribute, super().getattr(obj, attribute))

    def getitem(self, obj, argument):
        found = super().getitem(obj, argument)
        return _bounded(obj, argument, found) if isinstance(argument, str) else found


def _bounded(obj, name: str, found):
    if isinstance(obj, str) and name in ("format", "format_map"):
        for field in FORMAT_FIELD.findall(obj):
            for number in guards.WIDTHS.findall(field):
                guards.check_length("a format width", int(number))
        return found
    return guards.method(obj, name, found)


def _center(value, width=80):
    if isinstance(width, int):
        guards.check_length("center", width)
    return filters.do_center(value, width)


def _indent(value, width=4, first=False, blank=False):
    if isinstance(width, int):
        guards.check_length("indent", len(str(value)) + width * (str(value).count("\n") + 1))
    return filters.do_indent(value, width, first, blank)


def _format(value, *args, **kwargs):
    guards.check_format(str(value), kwargs or args)
    return filters.do_format(value, *args, **kwargs)


@filters.pass_eval_context
def _join(eval_ctx, value, d="", attribute=None):
    items = list(value)
    guards.check_length("join", sum(len(i) for i in items if isinstance(i, str)) + len(str(d)) * len(items))
    return filters.do_join(eval_ctx, items, d, attribute)


@filters.pass_eval_context
def _replace(eval_ctx, s, old, new, count=None):
    text = str(s)
    found = len(text) + 1 if not old else text.count(str(old))
    guards.check_length("replace", len(text) + found * max(len(str(new)) - len(str(old)), 0))
    return filters.do_replace(eval_ctx, s, old, new, count)


def _batch(value, linecount, fill_with=None):
    guards.check_length("batch", linecount)
    return filters.do_batch(value, linecount, fill_with)


def _slice(value, slices, fill_with=None):
    guards.check_length("slice", slices)
    return filters.do_slice(value, slices, fill_with)


@lru_cache(maxsize=1024)
def _template(environment: LimitedEnvironment, text: str) -> Template:
    return environment.from_string(text)


def render(environment: LimitedEnvironment, text: str, data: dict) -> str:
    """``text`` rendered over ``data``; raises LimitExceeded past a limit and Jinja's errors as they come."""
    template = _template(environment, text)
    parts, length = [], 0
    with watched(trace=True):  # Jinja compiles to Python of its own: a trace function watches it
        for part in template.generate(**data):
            length += len(part)
            if length > MAX_RENDERED:
                raise LimitExceeded(f"output limit: a template may render to at most {MAX_RENDERED:,} characters")
            parts.append(part)
    return "".join(parts)


_plain = LimitedEnvironment(autoescape=False)


def syntax_problem(text: str) -> str | None:
    """Why a template as written cannot be read (``{{ kohonnut_arvo.taso }`` unclosed, say), else None."""
    try:
        _plain.parse(text)
    except TemplateSyntaxError as exc:
        return f"{exc.message} (line {exc.lineno} of the template)"
    return None


def instructions(spec) -> str | None:
    """A task's instructions as either modeller writes them (as ``metadata.task_meta`` reads them)."""
    extensions = getattr(spec, "extensions", None) or {}
    text = extensions.get("instructionsForEndUser") or getattr(spec, "documentation", None)
    return text.strip() if text and text.strip() else None


@lru_cache(maxsize=256)
def _instructed(spec) -> bool:
    """Whether any human task of a process has instructions (specs are built once per version)."""
    return any(getattr(task, "manual", False) and instructions(task) for task in spec.task_specs.values())


def check_instructions(workflow) -> None:
    """Render the instructions of the human tasks the engine has opened; past a limit, stop the step there.

    Each task is looked at once in the life of the live workflow: its instructions rendered once
    within limits render the same when the projection shows them.
    """
    specs = [workflow.spec, *(sub.spec for sub in workflow.subprocesses.values())]
    if not any(_instructed(spec) for spec in specs):
        return
    seen = workflow.__dict__.setdefault("_polku_instructions_seen", set())
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        if task.id in seen:
            continue
        seen.add(task.id)
        text = instructions(task.task_spec)
        if text is None or len(text) > MAX_TEMPLATE:
            continue
        try:
            render(_plain, text, task.data)
        except LimitExceeded as exc:
            raise LimitExceeded(f"{exc} (the instructions of {task.task_spec.bpmn_id})",
                                task.task_spec.bpmn_id) from None
        except Exception:  # noqa: BLE001 - a template that fails otherwise is shown as written
            pass
