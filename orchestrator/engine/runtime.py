"""Running workflows: start, complete a human task, deliver a message, fire timers, cancel."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as BaseMessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from . import calendar, limits, timekeeping
from .compile import deep_recursion
from .templates import check_instructions
from .workflow import PolkuWorkflow


class EngineIncident(Exception):
    """The process itself failed (a script, a condition, a timer value): the instance needs a look."""

    def __init__(self, message: str, element: str | None):
        super().__init__(message)
        self.element = element


class TaskNotOpen(Exception):
    """The task is not waiting for a person (already done, cancelled or never there)."""


@dataclass(frozen=True)
class TaskView:
    id: str
    spec: str
    state: str
    human: bool
    timer_due: datetime | None
    timer_kind: str | None = None


TIMER_KINDS = ((DurationTimerEventDefinition, "duration"), (TimeDateEventDefinition, "date"),
               (CycleTimerEventDefinition, "cycle"))
FIRED = TaskState.READY | TaskState.STARTED | TaskState.COMPLETED


def view(task) -> TaskView:
    spec = task.task_spec
    human = bool(getattr(spec, "manual", False)) and task.state == TaskState.READY
    timer = _timer(task)
    return TaskView(str(task.id), timer[1] if timer else spec.bpmn_id or spec.name, TaskState.get_name(task.state),
                    human, _timer_due(task, timer), _kind_of(timer))


def _timer(task) -> tuple[TimerEventDefinition, str] | None:
    """The timer a task waits on, with the id of its BPMN element."""
    return _timer_of(task.task_spec)


def _timer_of(spec) -> tuple[TimerEventDefinition, str] | None:
    """The timer a task spec waits on, with the id of its BPMN element.

    An event-based gateway waits on all its events at once: SpiffWorkflow moves the timer onto the
    gateway's task, one definition per outgoing event, in the order of the flows.
    """
    event = getattr(spec, "event_definition", None)
    if isinstance(event, TimerEventDefinition):
        return event, spec.bpmn_id or spec.name
    if isinstance(event, MultipleEventDefinition):
        for output, sub in zip(spec.outputs, event.event_definitions, strict=False):
            if isinstance(sub, TimerEventDefinition):
                return sub, output.bpmn_id or sub.name
    return None


def has_timers(specs: tuple) -> bool:
    """Whether any process of a version (its subprocesses too) waits on a timer anywhere."""
    spec, subprocess_specs = specs
    return any(_timer_of(task_spec) is not None
               for process in (spec, *subprocess_specs.values()) for task_spec in process.task_specs.values())


def _timer_due(task, timer) -> datetime | None:
    if timer is None or task.state != TaskState.WAITING:
        return None
    value = timer[0].details(task).value
    if not isinstance(value, str):
        return None
    return TimerEventDefinition.get_datetime(value).astimezone(UTC)


def _kind_of(timer) -> str | None:
    return next((kind for cls, kind in TIMER_KINDS if isinstance(timer[0], cls)), None) if timer else None


def _timer_kind(task) -> str | None:
    return _kind_of(_timer(task))


def _won_by_timer(task) -> bool:
    """Whether a task that stopped waiting did so because its timer fired (not a message that won)."""
    if not isinstance(task.task_spec.event_definition, MultipleEventDefinition):
        return True
    seen = task.internal_data.get("seen_events") or []
    return any(isinstance(e.event_definition, TimerEventDefinition) for e in seen)


def fired_timers(changed: list, created: set[str], waiting: set[str]) -> list:
    """The timers a step fired, once per firing, from the tasks it changed.

    ``created`` are the ids of tasks the step added and ``waiting`` the ids of the timers that were
    waiting before it. A cycle timer keeps waiting and starts its outgoing path once per cycle; any
    other timer fires by leaving the waiting state (a cancelled one, or a race another event won,
    did not fire).
    """
    fired = []
    for task in changed:
        task_id = str(task.id)
        kind = _timer_kind(task)
        if kind and kind != "cycle" and task_id in waiting and task.state & FIRED and _won_by_timer(task):
            fired.append(task)
        parent = task.parent
        if task_id in created and parent is not None and _timer_kind(parent) == "cycle" \
                and task.task_spec is parent.task_spec.outputs[0]:
            fired.append(parent)
    return fired


def attached_task_id(timer, attached_to: str | None) -> str | None:
    """The task a boundary timer is attached to: its sibling under the boundary split."""
    if not attached_to or timer.parent is None:
        return None
    return next((str(t.id) for t in timer.parent.children if t.task_spec.bpmn_id == attached_to), None)


def _failing_task(exc: Exception):
    """The innermost task SpiffWorkflow was working on when it raised a plain exception.

    Some of its errors (an invalid timer value, say) carry no task; its code names the task at hand
    ``my_task`` throughout, so the traceback still tells which element failed.
    """
    found, frame = None, exc.__traceback__
    while frame is not None:
        task = frame.tb_frame.f_locals.get("my_task")
        if getattr(task, "task_spec", None) is not None and getattr(task.task_spec, "bpmn_id", None):
            found = task
        frame = frame.tb_next
    return found


SPIFF_TYPE = re.compile(r"^(\w+(?:Error|Exception)):(?=\S)")  # SpiffWorkflow writes "ZeroDivisionError:division"


def _with_reason(exc: SpiffWorkflowException) -> str:
    """SpiffWorkflow's message, with the reason of the error it wrapped when it does not say it
    ("Error evaluating expression 'next_at(…)'" gains why the value could not be read)."""
    message, inner = str(exc), getattr(exc, "exception", None) or exc.__cause__ or exc.__context__
    if inner is not None and not isinstance(inner, SpiffWorkflowException) and str(inner) not in message:
        message = f"{message.rstrip()} {type(inner).__name__}: {inner}"
    return SPIFF_TYPE.sub(r"\1: ", message.strip())


def _guarded(step):
    """Run an engine step within its limits; a failure inside the process becomes an incident, not a crash."""
    def run(workflow, *args, **kwargs):
        try:
            with deep_recursion(), limits.operation():
                result = step(workflow, *args, **kwargs)
                check_instructions(workflow)
                return result
        except TaskNotOpen:
            raise
        except limits.LimitExceeded as exc:
            task = _failing_task(exc)
            raise EngineIncident(str(exc), exc.element or (task and task.task_spec.bpmn_id)) from exc
        except SpiffWorkflowException as exc:
            spec = getattr(exc, "task_spec", None) or getattr(getattr(exc, "task", None), "task_spec", None)
            limit = limits.cause(exc)  # a limit SpiffWorkflow wrapped: its message says which
            raise EngineIncident(str(limit) if limit else _with_reason(exc), getattr(spec, "bpmn_id", None)) from exc
        except Exception as exc:  # noqa: BLE001 - whatever the process's own code raises is an incident
            task = _failing_task(exc)
            raise EngineIncident(f"{type(exc).__name__}: {exc}", task and task.task_spec.bpmn_id) from exc
    return run


def start(specs: tuple, script_engine, data: dict | None = None) -> BpmnWorkflow:
    spec, subprocess_specs = specs
    with deep_recursion():
        workflow = PolkuWorkflow(spec, subprocess_specs, script_engine=script_engine)
    if data:
        workflow.task_tree.data.update(data)
        workflow.get_next_task(state=TaskState.READY).data.update(data)
    return workflow


@_guarded
def advance(workflow: BpmnWorkflow) -> None:
    workflow.do_engine_steps()


def open_task(workflow: BpmnWorkflow, task_id: str):
    try:
        task = workflow.get_task_from_id(UUID(task_id))
    except (ValueError, WorkflowException):
        task = None
    if task is None or task.state != TaskState.READY or not task.task_spec.manual:
        raise TaskNotOpen(task_id)
    return task


@_guarded
def complete(workflow: BpmnWorkflow, task_id: str, data: dict) -> None:
    task = open_task(workflow, task_id)
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()


def waiting_messages(workflow: BpmnWorkflow) -> set[str]:
    """The names of the messages some waiting task would catch (an event-based gateway waits on several), and,
    while the process runs, those that start one of its event subprocesses."""
    names = set()
    for task in workflow.get_tasks(state=TaskState.WAITING):
        names |= _message_names(getattr(task.task_spec, "event_definition", None))
    if not workflow.is_completed():
        for name in getattr(workflow.spec.start, "trigger_specs", ()):
            spec = workflow.subprocess_specs.get(name)
            for start in getattr(spec, "bpmn_start_events", ()) if spec is not None else ():
                names |= _message_names(start.event_definition)
    return names


def _message_names(event) -> set[str]:
    events = event.event_definitions if isinstance(event, MultipleEventDefinition) else [event]
    return {e.name for e in events if isinstance(e, BaseMessageEventDefinition)}


@_guarded
def deliver_message(workflow: BpmnWorkflow, name: str, payload: dict) -> bool:
    """Hand a named message to the workflow; False when nothing waits for it."""
    if name not in waiting_messages(workflow):
        return False
    workflow.send_event(BpmnEvent(MessageEventDefinition(name), payload=payload))
    workflow.do_engine_steps()
    return True


@_guarded
def fire_timers(workflow: BpmnWorkflow) -> None:
    workflow.refresh_timers()
    workflow.do_engine_steps()


def ready_tasks(workflow: BpmnWorkflow) -> list:
    """The tasks that can run now: a person's open tasks among them."""
    return workflow.get_tasks(state=TaskState.READY)


def failed_tasks(workflow: BpmnWorkflow) -> list:
    """The tasks that stopped on an error (a script, a timer's value, a limit): where an incident stands."""
    return workflow.get_tasks(state=TaskState.ERROR)


@_guarded
def retry(workflow: BpmnWorkflow) -> None:
    """Run the failed tasks again, as the version the instance is on now has them (fixed by a migration, say)."""
    for task in failed_tasks(workflow):
        workflow.reset_from_task_id(task.id)
    workflow.do_engine_steps()


@_guarded
def skip(workflow: BpmnWorkflow) -> None:
    """Pass the failed tasks by without running them: the flow goes on as if they had done nothing."""
    for task in failed_tasks(workflow):
        workflow.reset_from_task_id(task.id)
        workflow.get_task_from_id(task.id).complete()
    workflow.do_engine_steps()


def cancel(workflow: BpmnWorkflow) -> None:
    workflow.cancel()


def is_completed(workflow: BpmnWorkflow) -> bool:
    return workflow.is_completed()


def due_after(start: datetime, duration: str, zone: str | None = None) -> datetime:
    """``start`` plus an ISO-8601 duration in calendar time of ``zone`` (the step's zone when None), as timers count."""
    return calendar.add(start, duration, zone or timekeeping.current_zone())


def task_data(task) -> dict:
    return task.data
