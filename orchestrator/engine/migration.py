"""Moving running instances to a newer version of their pathway, with SpiffWorkflow's own diff and migrate.

``version_changes`` says what differs between two versions, element by element. ``migration_plan`` says
what moving one instance would do, by doing it on a copy; ``migrate`` hands back that moved copy and
leaves the instance as it was, so a refused or failing move never half-changes a live instance.

SpiffWorkflow aligns the old version's task specs with the new by element id (or, failing that, by place in
the flow), repoints every task at its new spec, and resets the READY and WAITING tasks so that what follows
them is predicted anew. What it leaves to its caller is done here:

- A task of a removed element keeps its old spec, and stored state names specs by id: a finished one could
  not be restored. Such a move is refused, as is one whose current (READY, WAITING, STARTED or ERROR) task
  was removed. Predicted tasks of removed elements are simply dropped.
- A running subprocess (STARTED) is not reset, so what follows it would stay predicted from the old
  version: it is predicted again here.
- The reset forgets what a task knew: a timer would count again from the move (a two-day reminder would
  wait two more), a waiting parallel join would lose its data. Both are given back, the timer's due time
  unless its definition changed.
- Its walk over the task tree stops at depth 1000; a move that would leave a deeper task on the old
  version is refused.

Like every engine step, these run in the pathway's calendar: ``with engine.in_zone(zone, started)``.
"""

from dataclasses import dataclass, field

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, diff_dependencies, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from . import codec, runtime, serializer
from .compile import deep_recursion
from .state import LIVE, Snapshot, scoped_tasks

FLOWS = {"inputs", "outputs"}  # what changes in a spec when only the sequence flows around it moved
RESET = TaskState.READY | TaskState.WAITING  # the tasks SpiffWorkflow's migrate_workflow resets


class MigrationRefused(Exception):
    """The instance cannot move to the new version; ``reason`` says why, naming the element."""

    def __init__(self, reason: str, plan: "Plan"):
        super().__init__(reason)
        self.reason, self.plan = reason, plan


@dataclass(frozen=True)
class VersionChanges:
    """BPMN element ids, the main process's and its subprocesses' together; ``changed`` and ``rewired`` name
    elements by their old id."""

    added: list[str]
    removed: list[str]
    changed: list[str]  # the element itself changed (its name, form, script, timer...)
    rewired: list[str]  # only the sequence flows into or out of it changed
    alignment: dict[str, str]  # old id -> new id, for elements SpiffWorkflow matched by their place in the flow


@dataclass(frozen=True)
class Plan:
    possible: bool
    reason: str | None
    moved: list[str] = field(default_factory=list)  # elements of the current tasks, all kept
    changed: list[str] = field(default_factory=list)  # of those, the ones whose element changed
    removed_tasks: list[str] = field(default_factory=list)  # the instance's tasks whose element is gone
    added: list[str] = field(default_factory=list)  # new elements now ahead of the instance


def _ids(specs) -> list[str]:
    """Real BPMN elements only: SpiffWorkflow's own specs (Start, End, *.BoundaryEventSplit...) have no bpmn_id."""
    return sorted({s.bpmn_id for s in specs if s is not None and s.bpmn_id})


def names(specs: tuple) -> dict[str, str]:
    """Each BPMN element's name by its id, across the process and its subprocesses (None: unnamed)."""
    spec, subprocess_specs = specs
    return {t.bpmn_id: t.bpmn_name for s in (spec, *subprocess_specs.values()) for t in s.task_specs.values()
            if t.bpmn_id}


def version_changes(old_specs: tuple, new_specs: tuple) -> VersionChanges:
    """What a new version changes, for an operator deciding whether to move instances to it."""
    registry = serializer().registry
    with deep_recursion():
        diffs, new_names = diff_dependencies(registry, old_specs[1], new_specs[1])
        diffs[old_specs[0].name] = SpecDiff(registry, old_specs[0], new_specs[0])
    old = {**old_specs[1], old_specs[0].name: old_specs[0]}
    added = [s for name in new_names for s in new_specs[1][name].task_specs.values()]
    removed = [s for name, d in diffs.items() if d is None for s in old[name].task_specs.values()]
    changed, rewired, alignment = [], [], {}
    for d in filter(None, diffs.values()):
        added += d.added
        removed += d.removed
        for spec, changes in d.changed.items():
            (rewired if FLOWS.issuperset(changes) else changed).append(spec)
        alignment.update({o.bpmn_id: n.bpmn_id for o, n in d.alignment.items()
                          if n is not None and o.bpmn_id and n.bpmn_id and o.bpmn_id != n.bpmn_id})
    return VersionChanges(_ids(added), _ids(removed), _ids(changed), _ids(rewired), alignment)


def migration_plan(workflow: BpmnWorkflow, new_specs: tuple) -> Plan:
    """What moving this instance would do, found by moving a copy: a plan that says possible is one that
    ``migrate`` carries out. The instance itself is not changed."""
    return _attempt(workflow, new_specs)[0]


def migrate(workflow: BpmnWorkflow, new_specs: tuple) -> tuple[BpmnWorkflow, Plan]:
    """The instance moved to the new version, as a new workflow, with the plan it followed; ``workflow`` is
    left as it was.

    Raises MigrationRefused exactly when ``migration_plan`` says it is not possible. The moved workflow has
    new ids for the tasks predicted anew: save all its tasks (``codec().changes(moved, Snapshot())``).
    """
    plan, moved = _attempt(workflow, new_specs)
    if not plan.possible:
        raise MigrationRefused(plan.reason, plan)
    return moved, plan


def _diffs(workflow: BpmnWorkflow, new_specs: tuple) -> list[tuple]:
    """(workflow or subworkflow, its new spec or None, SpecDiff or None, WorkflowDiff or None) for each."""
    registry, spec, subprocess_specs = serializer().registry, *new_specs
    found = []
    pairs = [(workflow, spec), *((sp, subprocess_specs.get(sp.spec.name)) for sp in workflow.subprocesses.values())]
    for wf, new in pairs:
        spec_diff = SpecDiff(registry, wf.spec, new) if new is not None else None
        found.append((wf, new, spec_diff, spec_diff and WorkflowDiff(wf, spec_diff)))
    return found


def _problem(diffs: list[tuple]) -> tuple[str | None, list[str]]:
    """Why the instance cannot move, if it cannot, and the elements of its tasks that the new version lacks."""
    live, history, gone = [], [], []
    for wf, _new, _spec_diff, wf_diff in diffs:
        if wf_diff is None:
            name = wf.spec.name
            (live if not wf.completed else history).append(f"subprocess '{name}'")
            continue
        for task in wf_diff.removed:
            name = task.task_spec.bpmn_id or task.task_spec.name
            gone.append(name)
            if task.state & LIVE:
                live.append(f"task '{name}'")
            elif task.state & TaskState.FINISHED_MASK:
                history.append(f"task '{name}'")
    if live:
        return f"{sorted(live)[0]} where the instance stands is not in the new version", gone
    if history:
        return (f"{sorted(history)[0]}, which the instance has passed, is not in the new version: SpiffWorkflow "
                f"keeps finished tasks in the instance and could not restore it"), gone
    return None, gone


def _copy(workflow: BpmnWorkflow) -> BpmnWorkflow:
    """The workflow rebuilt from its stored form, as the server would load it."""
    changes, _, _ = codec().changes(workflow, Snapshot())
    specs = (workflow.spec, workflow.subprocess_specs)
    return codec().load(specs, changes.head, changes.upserts, workflow.script_engine)


def _move(wf, new, spec_diff: SpecDiff, wf_diff: WorkflowDiff) -> None:
    kept = {t.id: (t.data, t.internal_data, spec_diff.comparisons.get(t.task_spec, []))
            for t in wf.tasks.values() if t.state & RESET}
    migrate_workflow(wf_diff, wf, new)
    for task_id, (data, internal, changes) in kept.items():
        task = wf.tasks.get(task_id)
        if task is not None and task.state & RESET:
            task.data = data
            if "event_definition" not in changes:
                task.internal_data = internal
    for task in [t for t in wf.tasks.values() if t.state == TaskState.STARTED]:
        if isinstance(task.task_spec, SubWorkflowTask):
            task._drop_children()
            task.task_spec._predict(task, mask=TaskState.STARTED | TaskState.FUTURE | TaskState.PREDICTED_MASK)


def _stale(workflow: BpmnWorkflow) -> str | None:
    """A task, current ones first, left on a spec that is not its workflow's: SpiffWorkflow's diff and migrate
    walk the task tree and stop at depth 1000, so a long pathway's later tasks are not reached."""
    left = [t for _, t in scoped_tasks(workflow)
            if t.workflow.spec.task_specs.get(t.task_spec.name) is not t.task_spec]
    left.sort(key=lambda t: not t.state & LIVE)
    return (left[0].task_spec.bpmn_id or left[0].task_spec.name) if left else None


def _move_all(moved: BpmnWorkflow, new_specs: tuple) -> str | None:
    """Move a copy, subprocesses too, and let the engine run what became ready; why it failed, if it did."""
    try:
        for wf, new, spec_diff, wf_diff in _diffs(moved, new_specs):
            _move(wf, new, spec_diff, wf_diff)
        moved.subprocess_specs = new_specs[1]  # the subprocesses the instance starts from now on
        runtime.advance(moved)
    except Exception as exc:  # noqa: BLE001 - whatever the new version's own code raises stops the move
        return f"the instance cannot continue on the new version: {exc}"
    stale = _stale(moved)
    return stale and f"task '{stale}' would be left on the old version: SpiffWorkflow's migration does not reach it"


def _attempt(workflow: BpmnWorkflow, new_specs: tuple) -> tuple[Plan, BpmnWorkflow | None]:
    with deep_recursion():
        diffs = _diffs(workflow, new_specs)
        reason, gone = _problem(diffs)
        current = [t.task_spec for _, t in scoped_tasks(workflow) if t.state & LIVE]
        changed = {s for _, _, d, _ in diffs if d is not None for s, c in d.changed.items() if not FLOWS.issuperset(c)}
        report = {"moved": _ids(current), "changed": _ids(s for s in current if s in changed),
                  "removed_tasks": sorted(set(gone))}
        moved = None if reason else _copy(workflow)
        reason = reason or _move_all(moved, new_specs)
        if reason:
            return Plan(False, reason, **report), None
        new_ids = set(version_changes((workflow.spec, workflow.subprocess_specs), new_specs).added)
    ahead = [t.task_spec for _, t in scoped_tasks(moved) if t.state & TaskState.NOT_FINISHED_MASK]
    return Plan(True, None, **report, added=[i for i in _ids(ahead) if i in new_ids]), moved
