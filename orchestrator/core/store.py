"""Loading and saving workflow state: head document + changed task rows, with a cache of live workflows."""

import gc
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime

from flask import current_app
from sqlalchemy import Text, bindparam, cast, delete, func, insert, select, update
from sqlalchemy.orm.exc import StaleDataError

from .. import engine
from ..clock import now
from ..extensions import db
from ..models import Instance, Pathway, PathwayVersion, TaskState
from . import _compiled, projection
from .database import core, for_update, upsert
from .refusal import N_, Refused


class LRU:
    """A least-recently-used map; ``drop`` is called, outside the lock, with each value it lets go of."""

    def __init__(self, size: int, drop=None):
        self.size, self.items, self.lock, self.drop = size, OrderedDict(), threading.Lock(), drop

    def get(self, key):
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self.lock:
            replaced = self.items.get(key)
            self.items[key] = value
            self.items.move_to_end(key)
            dropped = [replaced] if replaced is not None and replaced is not value else []
            while len(self.items) > self.size:
                dropped.append(self.items.popitem(last=False)[1])
        if self.drop is not None:
            for old in dropped:
                self.drop(old)

    def take(self, key):
        with self.lock:
            return self.items.pop(key, None)

    def pop(self, key) -> None:
        with self.lock:
            self.items.pop(key, None)


class _Collector:
    """Holds off Python's cycle collector while a workflow is restored (threads may overlap).

    A restore allocates a few objects per task at once, and the parsed documents besides: collections in the
    middle of it walk them all and promote the ones still alive to older generations, the documents too,
    although they are dropped a moment later; and each promotion brings the next full collection (a walk over
    every object of the process, the cached workflows included) nearer. Held off, the collector runs once
    afterwards, when the documents are gone. Measured on 500-task instances restored one after another with a
    full cache: a fifth as many collections, a quarter as many full ones, about half the time spent in them.
    """

    def __init__(self):
        self.lock, self.depth, self.resume = threading.Lock(), 0, False

    @contextmanager
    def held_off(self):
        with self.lock:
            if self.depth == 0:
                self.resume = gc.isenabled()  # not turned back on if someone else had it off
                gc.disable()
            self.depth += 1
        try:
            yield
        finally:
            with self.lock:
                self.depth -= 1
                if self.depth == 0 and self.resume:
                    gc.enable()


COLLECTOR = _Collector()


@dataclass
class Live:
    lock_version: int
    workflow: object
    snapshot: engine.Snapshot
    # Ids of the open HumanTask rows and the Timer rows as the last step left them (None: not known).
    projected: tuple[set[str], set[str]] | None = None


@dataclass(frozen=True)
class VersionInfo:
    """What steps need of a pathway version; versions never change, so each process reads it once."""

    pathway_key: str
    number: int
    messages: list
    task_meta: dict
    forms: dict
    specs: tuple
    time_zone: str | None = None
    kind: str = "professional"
    settings: dict = field(default_factory=dict)  # the pathway's own settings (engine/settings.py)
    name: str = ""  # the version's name of its pathway
    timed: bool = field(init=False)  # whether any of its processes has a timer
    teams: frozenset = field(init=False)  # the care teams that follow it

    def __post_init__(self):  # frozen: derived fields are set once, here
        object.__setattr__(self, "timed", engine.runtime.has_timers(self.specs))
        object.__setattr__(self, "teams", projection.teams(self.task_meta, self.kind))


@dataclass
class InstanceRow:
    """An instance as a step reads and writes it: the row's columns, without the ORM's bookkeeping."""

    id: int
    version_id: int
    business_key: str | None
    client_id: str | None
    status: str
    incident: str | None
    lock_version: int
    started_by: str
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    ends_at: datetime | None = None
    waiting_for: list | None = None  # the messages it can take now, as the last step left it
    incident_element: str | None = None
    incident_at: datetime | None = None
    serializer_version: str = engine.SERIALIZER_VERSION  # the state format the row was written in
    pathway: str = ""
    version_number: int = 0
    messages: list = field(default_factory=list)
    # The open task rows and timer rows a step left, read in its own transaction (None: not read).
    tasks: list | None = None
    timers: list | None = None
    head_json: str | None = None  # the head document as stored, read with the row; parsed only on a cache miss
    told: list | None = None  # what the step that wrote the row told the client at once (None: not known)


INSTANCES = Instance.__table__
ROW_COLUMNS = [INSTANCES.c[f.name] for f in fields(InstanceRow) if f.name in INSTANCES.c]
# What a step reads of its instance, the head as text: a cached workflow does not need it parsed.
ROW = select(*ROW_COLUMNS, cast(INSTANCES.c.head, Text).label("head_json"))
READ_ROW = ROW.where(INSTANCES.c.id == bindparam("id"))
STATES = TaskState.__table__
# An instance's task documents, one row per scope with its documents joined by commas (group_concat on SQLite,
# string_agg on PostgreSQL): a long pathway's hundreds of rows come back as a few strings, parsed in one go.
READ_STATES = (select(STATES.c.scope, func.aggregate_strings(STATES.c.doc, ",").label("docs"))
               .where(STATES.c.instance_id == bindparam("id")).group_by(STATES.c.scope))
DELETE_TASK = delete(STATES).where(STATES.c.instance_id == bindparam("instance"), STATES.c.task_id == bindparam("task"))
WRITE = update(INSTANCES).where(INSTANCES.c.id == bindparam("row_id"),
                                INSTANCES.c.lock_version == bindparam("expected"))


def store() -> "WorkflowStore":
    """This app's workflow store (one per app): the one way to a version's info and the live workflows."""
    return current_app.extensions["polku_store"]


class WorkflowStore:
    """Owns the in-process caches; one per app."""

    def __init__(self, cache_size: int, verify: bool):
        # A workflow the cache lets go of is no step's (a step takes its workflow out of the cache): break it up.
        self.workflows = LRU(cache_size, lambda live: engine.workflow.dispose(live.workflow))
        self.versions = LRU(64)
        self.verify = verify

    def info(self, version_id: int) -> VersionInfo:
        info = self.versions.get(version_id)
        if info is None:
            row = db.session.execute(
                select(Pathway.key, PathwayVersion.number, PathwayVersion.messages, PathwayVersion.task_meta,
                       PathwayVersion.forms, PathwayVersion.spec, PathwayVersion.time_zone, PathwayVersion.kind,
                       PathwayVersion.settings, PathwayVersion.name)
                .join(PathwayVersion.pathway).where(PathwayVersion.id == version_id)
            ).one()
            info = VersionInfo(row.key, row.number, row.messages, row.task_meta, row.forms,
                               engine.restore_specs(row.spec), row.time_zone, row.kind, row.settings or {},
                               row.name)
            self.versions.put(version_id, info)
        return info

    def lock(self, instance_id: int) -> InstanceRow | None:
        """Read an instance for a step, inside the write transaction (FOR UPDATE on PostgreSQL)."""
        return self.row(_compiled.first(for_update(READ_ROW), {"id": instance_id}))

    def row(self, record: dict | None) -> InstanceRow | None:
        """An instance as a step uses it, from a record of ``ROW``'s columns."""
        return self._described(InstanceRow(**record)) if record else None

    def create(self, version_id: int, **values) -> InstanceRow:
        at = now()
        values = {"version_id": version_id, "status": "running", "incident": None, "lock_version": 1,
                  "created_at": at, "updated_at": at, "ended_at": None, **values}
        new_id = core().execute(insert(INSTANCES).values(head={}, serializer_version=engine.SERIALIZER_VERSION,
                                                         **values).returning(INSTANCES.c.id)).scalar_one()
        return self._described(InstanceRow(id=new_id, **values))

    def _described(self, row: InstanceRow) -> InstanceRow:
        info = self.info(row.version_id)
        row.pathway, row.version_number, row.messages = info.pathway_key, info.number, info.messages
        return row

    def load(self, instance: InstanceRow) -> Live:
        """The instance's live workflow: from the cache when its version still matches, else the rows.

        Taken out of the cache: only a committed step puts it back, so a failed one cannot leak.
        """
        live = self.workflows.take(instance.id)
        if live is not None and live.lock_version == instance.lock_version:
            return live
        if live is not None:  # another process stepped it meanwhile
            engine.workflow.dispose(live.workflow)
        if instance.serializer_version != engine.SERIALIZER_VERSION:
            # Another state format reads as something else, or not at all: say so rather than guess.
            raise Refused(409, N_("instance %(instance)s was stored in state format %(stored)s, and this service "
                                  "reads %(current)s: it needs migrating first"), instance=instance.id,
                          stored=instance.serializer_version, current=engine.SERIALIZER_VERSION)
        scopes = [(r.scope, r.docs) for r in _compiled.rows(READ_STATES, {"id": instance.id})]
        specs = self.info(instance.version_id).specs
        with COLLECTOR.held_off():
            workflow = engine.codec().load_scopes(specs, instance.head_json, scopes, engine.script_engine())
        return Live(instance.lock_version, workflow, engine.snapshot(workflow))

    def save(self, instance: InstanceRow, live: Live) -> tuple[list, engine.Changes]:
        """Write the instance row with its head and the changed task rows, unless another step came first.

        Returns the changed tasks and what changed (deleted and created task ids), for projection.
        """
        changes, after, changed = engine.codec().changes(live.workflow, live.snapshot)
        _compiled.execute(WRITE, {
            "row_id": instance.id, "expected": instance.lock_version, "head": changes.head,
            "serializer_version": engine.SERIALIZER_VERSION, "lock_version": instance.lock_version + 1,
            "status": instance.status, "incident": instance.incident, "incident_element": instance.incident_element,
            "incident_at": instance.incident_at, "updated_at": instance.updated_at,
            "ended_at": instance.ended_at, "waiting_for": instance.waiting_for,
        }, expect=1, otherwise=lambda: StaleDataError(f"instance {instance.id} was changed by another step"))
        instance.lock_version += 1
        _compiled.execute_many(DELETE_TASK, ({"instance": instance.id, "task": t} for t in changes.deletes))
        upsert(TaskState, [{"instance_id": instance.id, "task_id": t, "scope": s, "doc": d, "spec": task.task_spec.name,
                            "state": engine.state_name(task)} for (s, t, d), task in zip(changes.upserts, changed,
                                                                                         strict=True)],
               ["instance_id", "task_id"], ["scope", "doc", "spec", "state"])
        live.snapshot = after
        return changed, changes

    def remember(self, instance_id: int, lock_version: int, live: Live) -> None:
        """Keep a committed step's workflow for the next step of the same instance."""
        live.lock_version = lock_version
        if self.verify:
            self.check_round_trip(instance_id, live)
        self.workflows.put(instance_id, live)

    def check_round_trip(self, instance_id: int, live: Live) -> None:
        """Reload from the database and compare with the live workflow (tests turn this on).

        Before the workflow goes into the cache: once there, the cache may let go of it (and break it up).
        """
        self.workflows.pop(instance_id)
        reloaded = self.load(self.lock(instance_id)).workflow
        db.session.rollback()
        mismatch = engine.compare(live.workflow, reloaded)
        if mismatch:
            raise AssertionError(f"instance {instance_id}: stored state differs from the live workflow: {mismatch}")
