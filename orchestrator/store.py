"""Loading and saving workflow state: head document + changed task rows, with a cache of live workflows."""

import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import delete, select

from . import engine
from .database import core, upsert
from .extensions import db
from .models import Instance, Pathway, PathwayVersion, TaskState


class LRU:
    def __init__(self, size: int):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def pop(self, key) -> None:
        with self.lock:
            self.items.pop(key, None)


@dataclass
class Live:
    lock_version: int
    workflow: object
    snapshot: engine.Snapshot


@dataclass(frozen=True)
class VersionInfo:
    """What steps need of a pathway version; versions never change, so each process reads it once."""

    pathway_key: str
    task_meta: dict
    forms: dict
    specs: tuple


class WorkflowStore:
    """Owns the in-process caches; one per app."""

    def __init__(self, cache_size: int, verify: bool):
        self.workflows = LRU(cache_size)
        self.versions = LRU(64)
        self.verify = verify

    def info(self, version_id: int) -> VersionInfo:
        info = self.versions.get(version_id)
        if info is None:
            row = db.session.execute(
                select(Pathway.key, PathwayVersion.task_meta, PathwayVersion.forms, PathwayVersion.spec)
                .join(PathwayVersion.pathway).where(PathwayVersion.id == version_id)
            ).one()
            info = VersionInfo(row.key, row.task_meta, row.forms, engine.restore_specs(row.spec))
            self.versions.put(version_id, info)
        return info

    def load(self, instance: Instance) -> Live:
        """The instance's live workflow: from the cache when its version still matches, else the rows."""
        live = self.workflows.get(instance.id)
        if live is not None and live.lock_version == instance.lock_version:
            return live
        rows = db.session.execute(
            select(TaskState.scope, TaskState.task_id, TaskState.doc).where(TaskState.instance_id == instance.id)
        ).all()
        specs = self.info(instance.version_id).specs
        workflow = engine.codec().load(specs, instance.head, rows, engine.script_engine())
        return Live(instance.lock_version, workflow, engine.snapshot(workflow))

    def save(self, instance: Instance, live: Live) -> tuple[list, list[str]]:
        """Write the head and the changed task rows; return the changed tasks and deleted task ids."""
        changes, after, changed = engine.codec().changes(live.workflow, live.snapshot)
        instance.head = changes.head
        instance.serializer_version = engine.SERIALIZER_VERSION
        if changes.deletes:
            table = TaskState.__table__
            core().execute(delete(table).where(table.c.instance_id == instance.id,
                                              table.c.task_id.in_(changes.deletes)))
        upsert(TaskState, [{"instance_id": instance.id, "task_id": t, "scope": s, "doc": d}
                           for s, t, d in changes.upserts], ["instance_id", "task_id"], ["scope", "doc"])
        live.snapshot = after
        return changed, changes.deletes

    def remember(self, instance_id: int, lock_version: int, live: Live) -> None:
        """Keep a committed step's workflow for the next step of the same instance."""
        live.lock_version = lock_version
        self.workflows.put(instance_id, live)
        if self.verify:
            self.check_round_trip(instance_id, live)

    def forget(self, instance_id: int | None) -> None:
        if instance_id is not None:
            self.workflows.pop(instance_id)

    def check_round_trip(self, instance_id: int, live: Live) -> None:
        """Reload from the database and compare with the live workflow (tests turn this on)."""
        self.workflows.pop(instance_id)
        instance = db.session.get(Instance, instance_id, populate_existing=True)
        reloaded = self.load(instance).workflow
        mismatch = engine.compare(live.workflow, reloaded)
        if mismatch:
            raise AssertionError(f"instance {instance_id}: stored state differs from the live workflow: {mismatch}")
        self.workflows.put(instance_id, live)
