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
from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

TOP = ""  # the scope of the top-level workflow's tasks; subprocess tasks use the subprocess id
FINISHED = TaskState.FINISHED_MASK
LIVE = TaskState.WAITING | TaskState.READY | TaskState.STARTED | TaskState.ERROR
TYPENAME = '"typename"'  # how the registry marks an object it converted (each task document has one)
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


# What Task.__init__ sets, in its order (SpiffWorkflow 3.2): StateCodec._tasks sets the same, while they match.
TASK_FIELDS = ["id", "workflow", "_parent", "_children", "_state", "triggered", "task_spec", "thread_id", "data",
               "internal_data", "last_state_change"]


class _Probe:
    """Just enough of a workflow for Task.__init__."""

    def __init__(self):
        self.tasks = {}


class StateCodec:
    """Converts workflows to head/task documents and back, with SpiffWorkflow's own converters.

    Restoring follows ``BpmnWorkflowConverter.from_dict`` step by step, with the task converter's work done
    in one loop (``_tasks``): what a server restores all day, hundreds of tasks at a time for a long pathway.
    """

    def __init__(self, serializer):
        self.serializer = serializer
        self.registry = serializer.registry
        self.workflow_converter = self._converter(self.registry.typenames[BpmnWorkflow])
        self.subworkflow_converter = self._converter(self.registry.typenames[BpmnSubWorkflow])
        self.task_converter = self._converter(self.registry.typenames[Task])
        if type(self.task_converter) is not TaskConverter:
            raise TypeError(f"{type(self.task_converter).__name__} restores tasks: StateCodec._tasks mirrors "
                            "TaskConverter.from_dict and needs updating")
        # _tasks makes tasks without Task.__init__ while the attributes it sets are the ones __init__ does.
        self.direct_tasks = list(vars(self.task_converter.target_class(_Probe(), object()))) == TASK_FIELDS

    def _converter(self, typename: str):
        # The registry wraps each converter's bound from_dict in a partial; we need the converter itself.
        return self.registry.convert_from_dict[typename].args[0].__self__

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
        by_scope: dict[str, dict[str, dict]] = {}
        typed = set()
        for scope, task_id, doc in rows:
            by_scope.setdefault(scope, {})[task_id] = json.loads(doc)
            if doc.count(TYPENAME) > 1:
                typed.add(scope)
        return self._restore(specs, json.loads(json.dumps(head)), by_scope, typed, script_engine)

    def load_scopes(self, specs: tuple, head_json: str, scopes: Iterable[tuple[str, str]],
                    script_engine) -> BpmnWorkflow:
        """Rebuild a workflow from its head as stored and, per scope, its task documents joined by commas.

        The store reads a scope's documents as one string: one row and one JSON parse per scope instead of
        one per task, which was most of what reading back a long pathway cost.
        """
        by_scope: dict[str, dict[str, dict]] = {}
        typed = set()
        for scope, docs in scopes:
            parsed = json.loads(f"[{docs}]")
            by_scope[scope] = {doc["id"]: doc for doc in parsed}
            if docs.count(TYPENAME) > len(parsed):
                typed.add(scope)
        return self._restore(specs, json.loads(head_json), by_scope, typed, script_engine)

    def _restore(self, specs: tuple, head: dict, by_scope: dict[str, dict[str, dict]], typed: set[str],
                 script_engine) -> BpmnWorkflow:
        """What BpmnWorkflowConverter.from_dict does, its tasks restored by ``_tasks`` (the head is consumed).

        ``typed``: the scopes whose documents hold objects the registry restores (a ``typename`` besides the
        task's own); in the others, the data as parsed is the data restored.
        """
        spec, subprocess_specs = specs
        ids: dict[str, UUID] = {}
        conv = self.workflow_converter
        workflow = conv.target_class(spec, subprocess_specs, script_engine=script_engine, deserializing=True)
        docs = _tree_order(by_scope.get(TOP, {}), head["root"]).values()
        workflow.tasks = self._tasks(workflow, docs, ids, TOP in typed)
        workflow.task_tree = workflow.tasks.get(_uuid(ids, head["root"]))
        conv.set_default_attributes(workflow, head)
        if head["subprocesses"]:
            self._subprocesses(head["subprocesses"], workflow, workflow, by_scope, typed, ids)
        workflow.bpmn_events = self.registry.restore(head.get("bpmn_events", []))
        return workflow

    def _subprocesses(self, heads: dict, workflow, top: BpmnWorkflow, by_scope: dict, typed: set, ids: dict) -> None:
        """BpmnWorkflowConverter.subprocesses_from_dict and BpmnSubWorkflowConverter.from_dict, with the tasks
        restored by ``_tasks``: parents before the subprocesses they hold."""
        conv = self.subworkflow_converter
        for task in list(workflow.tasks.values()):
            if not isinstance(task.task_spec, SubWorkflowTask) or (scope := str(task.id)) not in heads:
                continue
            head = heads.pop(scope)
            sub = conv.target_class(top.subprocess_specs.get(task.task_spec.spec), task.id, top, deserializing=True)
            docs = _tree_order(by_scope.get(scope, {}), head["root"]).values()
            sub.tasks = self._tasks(sub, docs, ids, scope in typed)
            sub.task_tree = sub.tasks.get(_uuid(ids, head["root"]))
            conv.set_default_attributes(sub, head)
            top.subprocesses[task.id] = sub
            sub.completed_event.connect(task.task_spec._on_subworkflow_completed, task)
            self._subprocesses(heads, sub, top, by_scope, typed, ids)

    def _tasks(self, workflow, docs: Iterable[dict], ids: dict[str, UUID], typed: bool) -> dict:
        """SpiffWorkflow's TaskConverter.from_dict for each document, parents first, each task id parsed once.

        A document we wrote holds its task's whole data (an empty delta); one with a delta (written by
        SpiffWorkflow's own serializer) goes through the converter, which merges it into its parent's data.
        Unless ``typed``, the documents' data holds only JSON values, which the registry would copy as they are.
        The others are made as ``Task.__init__`` makes a task (its attributes in its order, ``direct_tasks``), with
        the stored values at once, and added to ``workflow.tasks`` as it adds them.
        """
        task_class, task_specs = self.task_converter.target_class, workflow.spec.task_specs
        restore = self.registry.restore if typed else _as_parsed
        events = workflow.top_workflow.event_manager
        tasks, new, thread_id = workflow.tasks, task_class.__new__, task_class.thread_id_pool
        direct = self.direct_tasks
        for dct in docs:
            spec = task_specs.get(dct["task_spec"])
            if dct.get("delta") or spec is None or not direct:
                self.task_converter.from_dict(dct, workflow)  # the task adds itself to workflow.tasks
                continue
            task = new(task_class)
            task.id = task_id = _uuid(ids, dct["id"])
            task.workflow = workflow
            parent = dct["parent"]
            task._parent = _uuid(ids, parent) if parent is not None else None
            task._children = [_uuid(ids, child) for child in dct["children"]]
            task._state = dct["state"]
            task.triggered = dct["triggered"]
            task.task_spec = spec
            task.thread_id = thread_id
            task.data = restore(dct["data"])
            task.internal_data = restore(dct["internal_data"])
            task.last_state_change = dct["last_state_change"]
            tasks[task_id] = task
            if isinstance(spec, CatchingEvent) and task._state & TaskState.WAITING:
                events.add_task(task)
        return tasks


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


def _as_parsed(value):
    return value


def _uuid(ids: dict[str, UUID], text: str) -> UUID:
    """A task id, parsed once per restore: each one is named by its task, its parent and its children."""
    found = ids.get(text)
    if found is None:
        found = ids[text] = UUID(text)
    return found


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
