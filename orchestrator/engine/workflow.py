"""Our BpmnWorkflow: the same engine, with task look-ups that do not walk the whole tree.

SpiffWorkflow finds READY and WAITING tasks with a depth-first walk from the root on every step,
and that walk stops at depth 1000. Care pathways are long chains (weekly tasks for months), so the
walk makes every step cost O(pathway length) and can miss tasks deep in the tree. Plain look-ups
by state scan the task dictionaries instead: every task, cheaply, in creation order.

The engine runs tasks by itself until only people's tasks and waits are left; a process that never
gets there (a loop of gateways, a cycle timer repeating at once) would keep it running for ever.
Each task it runs counts against the operation's engine steps (``limits.engine_step``), and a cycle
timer whose interval, computed from process data, is under ``timers.MIN_CYCLE_SECONDS`` stops at
its second firing (a literal one is refused at deploy).
"""

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs.control import BpmnStartTask
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.util.task import TaskFilter, TaskState

from . import limits
from .timers import MIN_CYCLE_SECONDS

FILTER_ARGS = {"state", "updated_ts", "manual", "spec_name", "spec_class"}


class PolkuWorkflow(BpmnWorkflow):
    def _all_tasks(self):
        yield from list(self.tasks.values())
        for sub in list(self.subprocesses.values()):
            yield from list(sub.tasks.values())

    def get_tasks_iterator(self, first_task=None, skip_subprocesses=False, **kwargs):
        if first_task is not None or not FILTER_ARGS.issuperset(kwargs):
            return super().get_tasks_iterator(first_task, skip_subprocesses=skip_subprocesses, **kwargs)
        task_filter = TaskFilter(**kwargs)
        mask = task_filter.state
        tasks = list(self.tasks.values()) if skip_subprocesses else self._all_tasks()
        return iter([t for t in tasks if t._state & mask and task_filter.matches(t)])

    def is_completed(self):
        if not self.completed:
            self.completed = not any(t._state & TaskState.NOT_FINISHED_MASK for t in self.tasks.values())
        return self.completed

    def do_engine_steps(self, will_complete_task=None, did_complete_task=None):
        def counted(task):
            limits.engine_step(task.task_spec.bpmn_id)
            if will_complete_task is not None:
                will_complete_task(task)

        with limits.operation():
            super().do_engine_steps(counted, did_complete_task)

    def update_waiting_tasks(self):
        for task in [t for t in self.tasks.values() if t._state == TaskState.WAITING]:
            _check_cycle(task)
            task.task_spec._update(task)

    def refresh_timers(self):
        for task in list(self.event_manager.tasks.values()):
            _check_cycle(task)
        super().refresh_timers()


def dispose(workflow) -> None:
    """Break up a workflow no one will use again, so that it is freed at once.

    A workflow and its tasks refer to each other (``task.workflow``, ``workflow.tasks``, the event manager,
    subprocesses and their parent): dropped whole, it is garbage that only the cycle collector finds. A server
    whose cache is full drops one for each workflow it restores, a few thousand objects for a long pathway,
    held in memory until a full collection, which then has them to walk as well. Only for a workflow nothing
    refers to any more.
    """
    for sub in list(workflow.subprocesses.values()):
        for task in list(sub.tasks.values()):
            task.__dict__.clear()
        sub.__dict__.clear()
    for task in list(workflow.tasks.values()):
        task.__dict__.clear()
    workflow.__dict__.clear()


def _check_cycle(task) -> None:
    """Refuse to fire again a cycle timer that repeats more often than once a minute."""
    if not isinstance(getattr(task.task_spec, "event_definition", None), CycleTimerEventDefinition):
        return
    cycle = task.internal_data.get("event_value")
    if cycle and cycle.get("cycles") and cycle.get("duration", MIN_CYCLE_SECONDS) < MIN_CYCLE_SECONDS:
        raise limits.LimitExceeded(f"timer limit: the cycle timer repeats every {cycle['duration']:g} s; a cycle "
                                   f"timer may repeat at most once a minute", task.task_spec.bpmn_id)


def wire_event_subprocesses(spec) -> None:
    """Give each event subprocess of a process definition the start it is triggered from and the end it leads
    to, once, when the definition is loaded.

    SpiffWorkflow's ``BpmnStartTask.trigger_wf`` does this when an instance first triggers one, by connecting
    the subprocess to the start task's outputs, in the definition that every instance of the version shares:
    each instance started after that predicted and ran the subprocess from its start (one waiting for ever, so
    that it never ended at its end event). Here the subprocess knows its start as an input (its readiness
    needs one), but the start task does not lead to it.
    """
    start = spec.start
    for name in getattr(start, "trigger_specs", ()):
        triggered = spec.task_specs[name]
        if start.name not in triggered._inputs:
            triggered._inputs.append(start.name)
        if spec.end.name not in triggered._outputs:
            triggered.connect(spec.end)


def _trigger_event_subprocess(self, my_task, spec_name):
    """Start an event subprocess in this instance only (see ``wire_event_subprocesses``)."""
    child = my_task._add_child(self._wf_spec.task_specs[spec_name], TaskState.FUTURE)
    child.triggered = True
    child.task_spec._update(child)
    return child.id


BpmnStartTask.trigger_wf = _trigger_event_subprocess


def register(registry) -> None:
    """Stored documents keep SpiffWorkflow's type name, so they stay readable by plain SpiffWorkflow."""
    BpmnWorkflowConverter(PolkuWorkflow, registry, typename="BpmnWorkflow")
