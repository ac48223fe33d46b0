"""Our BpmnWorkflow: the same engine, with task look-ups that do not walk the whole tree.

SpiffWorkflow finds READY and WAITING tasks with a depth-first walk from the root on every step,
and that walk stops at depth 1000. Care pathways are long chains (weekly tasks for months), so the
walk makes every step cost O(pathway length) and can miss tasks deep in the tree. Plain look-ups
by state scan the task dictionaries instead: every task, cheaply, in creation order.
"""

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.util.task import TaskFilter, TaskState

FILTER_ARGS = {"state", "updated_ts", "manual", "spec_name", "spec_class"}


class PolkuWorkflow(BpmnWorkflow):
    def _all_tasks(self):
        yield from list(self.tasks.values())
        for sub in list(self.subprocesses.values()):
            yield from list(sub.tasks.values())

    def get_tasks_iterator(self, first_task=None, **kwargs):
        if first_task is not None or not FILTER_ARGS.issuperset(kwargs):
            return super().get_tasks_iterator(first_task, **kwargs)
        task_filter = TaskFilter(**kwargs)
        mask = task_filter.state
        return iter([t for t in self._all_tasks() if t._state & mask and task_filter.matches(t)])

    def is_completed(self):
        if not self.completed:
            self.completed = not any(t._state & TaskState.NOT_FINISHED_MASK for t in self.tasks.values())
        return self.completed

    def update_waiting_tasks(self):
        for task in [t for t in self.tasks.values() if t._state == TaskState.WAITING]:
            task.task_spec._update(task)


def register(registry) -> None:
    """Stored documents keep SpiffWorkflow's type name, so they stay readable by plain SpiffWorkflow."""
    BpmnWorkflowConverter(PolkuWorkflow, registry, typename="BpmnWorkflow")
