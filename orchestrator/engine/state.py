"""Workflow state as a small head document plus one document per task, saved incrementally.

SpiffWorkflow predicts the whole task tree up front, so a pathway of n steps holds n tasks from the
start. Serializing the whole tree after every step would make a pathway's life cost O(n²). Instead we
keep per-task documents and, after a step, write only the tasks whose fingerprint changed.

Each task document holds the task's whole data, not SpiffWorkflow's delta against its parent: a
parent's data can change after a child's document was written (a predicted child, a multi-instance
parent collecting outputs), and a delta written against the old parent data would restore wrong.
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from SpiffWorkflow.util.task import TaskState

TOP = ""  # the scope of the top-level workflow's tasks; subprocess tasks use the subprocess id
FINISHED = TaskState.FINISHED_MASK
LIVE = TaskState.WAITING | TaskState.READY | TaskState.STARTED | TaskState.ERROR
NAMES = dict(zip(TaskState._values, TaskState._names, strict=True))  # the names the task rows carry


def state_name(task) -> str:
    """A task's state as its row names it (READY, COMPLETED, ...)."""
    return NAMES[task._state]


@dataclass
class Snapshot:
    """What was last saved of a workflow: enough to find the tasks a step changed."""

    fingerprints: dict[int, tuple] = field(default_factory=dict)


@dataclass
class Changes:
    head: dict
    upserts: list[tuple[str, str, str]]  # (scope, task id, task json)
    deletes: list[str]
    created: set[str] = field(default_factory=set)  # ids of the tasks that were not there before
    completed: set[str] = field(default_factory=set)  # ids of the tasks this step completed


def _fingerprint(task) -> tuple:
    # Finished and predicted tasks only change through their state; live ones (timers counting
    # cycles, events holding payloads, multi-instance tasks collecting outputs) also change in place.
    state = task._state
    live = (repr(task.internal_data), repr(task.data)) if state & LIVE else None
    return state, task.last_state_change, task.triggered, len(task._children), live


def scoped_tasks(workflow: BpmnWorkflow) -> Iterator[tuple[str, object]]:
    for task in workflow.tasks.values():
        yield TOP, task
    for sp_id, sub in workflow.subprocesses.items():
        for task in sub.tasks.values():
            yield str(sp_id), task


def snapshot(workflow: BpmnWorkflow) -> Snapshot:
    return Snapshot({task.id.int: _fingerprint(task) for _, task in scoped_tasks(workflow)})


def replaced(before: Snapshot) -> Snapshot:
    """What was saved of a workflow another one replaces (moved to a new version): each of its tasks is written
    again, as a task that was there before (not a new one), and those the new one lacks are deleted."""
    return Snapshot(dict.fromkeys(before.fingerprints, ("replaced",)))


class StateCodec:
    """Converts workflows to head/task documents and back, with SpiffWorkflow's own converters."""

    def __init__(self, serializer):
        self.serializer = serializer
        self.registry = serializer.registry
        # The registry wraps each converter's bound from_dict in a partial; we need the converter itself.
        restore = self.registry.convert_from_dict[self.registry.typenames[BpmnWorkflow]]
        self.workflow_converter = restore.args[0].__self__

    def dumps(self, obj) -> str:
        # The encoder mode flag lives on the registry: this codec has a registry of its own, and every
        # use of it ends in this encoder, so concurrent steps produce the same JSON either way.
        self.registry._encoder_mode = True
        try:
            return json.dumps(self.registry.convert(obj), cls=self.serializer._encoder_cls, separators=(",", ":"))
        finally:
            self.registry._encoder_mode = False

    def canonical(self, value):
        """A value as the state documents hold it, for comparing."""
        return json.loads(self.dumps(value))

    def task_doc(self, task) -> str:
        """SpiffWorkflow's task document with the task's whole data (its loader reads either form)."""
        return self.dumps({
            "typename": "Task", "id": str(task.id), "parent": str(task._parent) if task._parent else None,
            "children": [str(child) for child in task._children], "last_state_change": task.last_state_change,
            "state": task._state, "task_spec": task.task_spec.name, "triggered": task.triggered,
            "internal_data": task.internal_data, "data": self.registry.clean(task.data), "delta": {},
        })

    def head(self, workflow: BpmnWorkflow) -> dict:
        return {
            **self._workflow_fields(workflow),
            "bpmn_events": json.loads(self.dumps(workflow.bpmn_events)),
            "subprocesses": {
                str(sp_id): {**self._workflow_fields(sub), "typename": "BpmnSubWorkflow",
                             "parent_task_id": str(sub.parent_task_id), "spec": sub.spec.name}
                for sp_id, sub in workflow.subprocesses.items()
            },
        }

    def _workflow_fields(self, wf) -> dict:
        return {
            "data": json.loads(self.dumps(self.registry.clean(wf.data))),
            "correlations": wf.correlations,
            "last_task": str(wf.last_task.id) if wf.last_task is not None else None,
            "success": wf.success,
            "completed": wf.completed,
            "root": str(wf.task_tree.id),
        }

    def changes(self, workflow: BpmnWorkflow, before: Snapshot) -> tuple[Changes, Snapshot, list]:
        """What to write after a step, the snapshot that will then be true, and the changed tasks."""
        after = Snapshot()
        upserts, changed, created, completed = [], [], set(), set()
        for scope, task in scoped_tasks(workflow):
            key = task.id.int
            fp = after.fingerprints[key] = _fingerprint(task)
            previous = before.fingerprints.get(key)
            if previous != fp:
                upserts.append((scope, str(task.id), self.task_doc(task)))
                changed.append(task)
                if previous is None:
                    created.add(str(task.id))
                if fp[0] == TaskState.COMPLETED and (previous is None or previous[0] != TaskState.COMPLETED):
                    completed.add(str(task.id))
        deletes = [str(UUID(int=key)) for key in before.fingerprints.keys() - after.fingerprints.keys()]
        return Changes(self.head(workflow), upserts, deletes, created, completed), after, changed

    def load(self, specs: tuple, head: dict, rows: Iterable[tuple[str, str, str]], script_engine) -> BpmnWorkflow:
        """Rebuild a workflow from its head and (scope, task id, task json) rows."""
        spec, subprocess_specs = specs
        by_scope: dict[str, dict[str, dict]] = {}
        for scope, task_id, doc in rows:
            by_scope.setdefault(scope, {})[task_id] = json.loads(doc)
        head = json.loads(json.dumps(head))  # the converters consume what they are given
        dct = {**head, "tasks": _tree_order(by_scope.get(TOP, {}), head["root"])}
        for sp_id, sub in dct["subprocesses"].items():
            sub["tasks"] = _tree_order(by_scope.get(sp_id, {}), sub["root"])
        conv = self.workflow_converter
        workflow = conv.target_class(spec, subprocess_specs, script_engine=script_engine, deserializing=True)
        workflow.tasks = conv.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        conv.set_default_attributes(workflow, dct)
        conv.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.get("bpmn_events", []))
        return workflow


def compare(live: BpmnWorkflow, reloaded: BpmnWorkflow, canonical=lambda value: value) -> str | None:
    """Name the first difference between two workflows, or None when they are the same.

    Finished tasks' data is not compared: SpiffWorkflow shares nested values between a task and its
    ancestors, so a later script can change a finished task's data in memory; what was stored is the
    data the task finished with.
    """
    a = {t.id: t for _, t in scoped_tasks(live)}
    b = {t.id: t for _, t in scoped_tasks(reloaded)}
    if a.keys() != b.keys():
        return f"task sets differ: {sorted(map(str, a.keys() ^ b.keys()))[:5]}"
    for task_id, x in a.items():
        y = b[task_id]
        fields = ("_state", "triggered", "internal_data", "_children", "_parent")
        for name in fields:
            # Internal data may hold engine objects (events an event-based gateway saw): compare them as stored.
            if canonical(getattr(x, name)) != canonical(getattr(y, name)):
                return f"task {x.task_spec.name} ({task_id}): {name} {getattr(x, name)!r} != {getattr(y, name)!r}"
        if not x._state & FINISHED and x.data != y.data:
            return f"task {x.task_spec.name} ({task_id}): data {x.data!r} != {y.data!r}"
    for name in ("data", "success", "completed", "correlations"):
        if getattr(live, name) != getattr(reloaded, name):
            return f"workflow {name} differs"
    return None


def _tree_order(tasks: dict[str, dict], root: str) -> dict[str, dict]:
    """Parents before children: a task's data is stored as a delta from its parent's."""
    ordered, queue = {}, [root]
    while queue:
        task_id = queue.pop()
        doc = tasks.get(task_id)
        if doc is None or task_id in ordered:
            continue
        ordered[task_id] = doc
        queue.extend(reversed(doc["children"]))
    return ordered


__all__ = ["SERIALIZER_VERSION", "StateCodec", "Snapshot", "Changes", "snapshot", "replaced", "compare", "state_name",
           "TOP"]
