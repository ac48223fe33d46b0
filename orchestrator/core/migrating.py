"""Moving running instances to a newer version of their pathway: first a dry run, then one by one.

A pathway with a mistake strands its instances, and a fixed version helps only those started on it.
An operator (``flask move-instances``, ``POST /api/v1/migrations``) or a designer (the version's page)
asks what moving the instances of one version to another would do: per instance, whether it can move,
where it stands, what changes there and what lies ahead that is new; an instance standing on a task the
new version no longer has cannot. Then each movable one moves in a transaction of its own
(``steps.migrate``), so one refused or failing instance leaves the others moved and itself as it was.
"""

from dataclasses import dataclass, field

from sqlalchemy import select

from .. import engine
from ..extensions import db
from ..metrics import rollups
from ..models import ACTIVE, Instance, PathwayVersion
from . import _compiled, steps
from .database import write
from .refusal import N_, Refused
from .store import READ_ROW, store


@dataclass
class Outcome:
    """One instance in a migration's report."""

    instance_id: int
    status: str
    possible: bool
    reason: str | None = None
    standing: list[str] = field(default_factory=list)  # the elements it stands on
    changed: list[str] = field(default_factory=list)  # of those, the ones the new version changes
    added: list[str] = field(default_factory=list)  # new elements ahead of it
    moved: bool = False


@dataclass(frozen=True)
class Differences:
    """What one version changes against another: BPMN elements (id and name), forms and settings by name."""

    added: list[tuple[str, str]]
    removed: list[tuple[str, str]]
    changed: list[tuple[str, str]]
    forms: dict[str, list[str]]  # added, removed, changed: form file names
    settings: list[str]  # the settings whose value differs

    @property
    def none(self) -> bool:
        return not (self.added or self.removed or self.changed or any(self.forms.values()) or self.settings)


def differences(source: PathwayVersion, target: PathwayVersion) -> Differences:
    """The semantic differences of two versions, as SpiffWorkflow's diff finds them for the elements (a flow
    rewired around an added task is not a change of its neighbours) and by content for forms and settings."""
    old, new = store().info(source.id), store().info(target.id)
    found = engine.migration.version_changes(old.specs, new.specs)
    names = {**engine.migration.names(old.specs), **engine.migration.names(new.specs)}
    forms = {"added": sorted(new.forms.keys() - old.forms.keys()),
             "removed": sorted(old.forms.keys() - new.forms.keys()),
             "changed": sorted(n for n in old.forms.keys() & new.forms.keys() if old.forms[n] != new.forms[n])}
    settings = sorted(name for name in old.settings.keys() | new.settings.keys()
                      if old.settings.get(name) != new.settings.get(name))

    def named(ids: list[str]) -> list[tuple[str, str]]:
        return [(i, names.get(i) or i) for i in ids]
    return Differences(named(found.added), named(found.removed), named(found.changed), forms, settings)


def instances_on(version: PathwayVersion, only: list[int] | None = None) -> list[int]:
    """The active instances on a version (of ``only`` when given), oldest first."""
    query = select(Instance.id).where(Instance.version_id == version.id, Instance.status.in_(ACTIVE))
    if only:
        query = query.where(Instance.id.in_(only))
    return list(db.session.scalars(query.order_by(Instance.id)))


def plan(instance_id: int, target: PathwayVersion) -> Outcome:
    """What moving one instance would do, found on a copy of it: nothing is written."""
    instance = store().row(_compiled.first(READ_ROW, {"id": instance_id}))
    with engine.in_zone(steps.zone_of(instance.version_id), instance.created_at):
        live = store().load(instance)
        found = engine.migration.migration_plan(live.workflow, store().info(target.id).specs)
    store().remember(instance_id, instance.lock_version, live)  # planned on a copy: the workflow is as it was
    return Outcome(instance_id, instance.status, found.possible, found.reason, found.moved, found.changed,
                   found.added)


def run(source: PathwayVersion, target: PathwayVersion, actor: str, dry_run: bool = True,
        only: list[int] | None = None) -> list[Outcome]:
    """The report of moving ``source``'s active instances to ``target``; unless a dry run, each movable one
    is moved in a transaction of its own as the report is made."""
    if source.pathway_id != target.pathway_id:
        raise Refused(409, N_("version %(version)s is of another pathway"), version=target.number)
    if source.id == target.id:
        raise Refused(409, N_("the instances are on version %(version)s already"), version=target.number)
    report = []
    for instance_id in instances_on(source, only):
        db.session.rollback()  # the read ends here: each move is a transaction of its own
        report.append(plan(instance_id, target) if dry_run else _moved(instance_id, target, actor))
        db.session.rollback()
    if any(outcome.moved for outcome in report):  # the metrics count its instances under their new version
        with write():
            rollups.stale(target.pathway.key)
    return report


def _moved(instance_id: int, target: PathwayVersion, actor: str) -> Outcome:
    """Move one instance, planning it once (in the move); one that cannot move is planned again for the report."""
    try:
        done, found = steps.migrate(instance_id, target, actor)
    except Refused as refused:
        outcome = plan(instance_id, target)
        outcome.possible, outcome.reason = False, refused.message
        return outcome
    return Outcome(instance_id, done.status, True, None, found.moved, found.changed, found.added, moved=True)
