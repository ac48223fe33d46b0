"""Running workflows: start, complete a human task, deliver a message, fire timers, cancel."""

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from .compile import deep_recursion
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


def view(task) -> TaskView:
    spec = task.task_spec
    human = bool(getattr(spec, "manual", False)) and task.state == TaskState.READY
    return TaskView(str(task.id), spec.bpmn_id or spec.name, TaskState.get_name(task.state), human,
                    _timer_due(task))


def _timer_due(task) -> datetime | None:
    event = getattr(task.task_spec, "event_definition", None)
    if task.state != TaskState.WAITING or not isinstance(event, TimerEventDefinition):
        return None
    value = event.details(task).value
    if not isinstance(value, str):
        return None
    due = TimerEventDefinition.get_datetime(value)
    return due.astimezone(UTC)


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


def _guarded(step):
    """Run an engine step; a failure inside the process becomes an incident, not a crash."""
    def run(workflow, *args, **kwargs):
        try:
            with deep_recursion():
                return step(workflow, *args, **kwargs)
        except TaskNotOpen:
            raise
        except SpiffWorkflowException as exc:
            spec = getattr(exc, "task_spec", None) or getattr(getattr(exc, "task", None), "task_spec", None)
            raise EngineIncident(str(exc), getattr(spec, "bpmn_id", None)) from exc
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
    return {e.name for e in workflow.waiting_events() if e.event_type == MessageEventDefinition.__name__}


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


def cancel(workflow: BpmnWorkflow) -> None:
    workflow.cancel()


def is_completed(workflow: BpmnWorkflow) -> bool:
    return workflow.is_completed()


def due_after(start: datetime, duration: str) -> datetime:
    """``start`` plus an ISO-8601 duration, counted the way SpiffWorkflow counts timer durations."""
    parsed = TimerEventDefinition.parse_iso_duration(duration)
    return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)


def task_data(task) -> dict:
    return task.data
