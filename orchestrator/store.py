"""Loading and saving workflow state: head document + changed task rows, with a cache of live workflows."""

import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import delete, select

from . import engine
from .database import upsert
from .extensions import db
from .models import Instance, PathwayVersion, TaskState


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


class WorkflowStore:
    """Owns the in-process caches; one per app."""

    def __init__(self, cache_size: int, verify: bool):
        self.workflows = LRU(cache_size)
        self.specs = LRU(64)
        self.verify = verify

    def specs_for(self, version: PathwayVersion) -> tuple:
        specs = self.specs.get(version.id)
        if specs is None:
            specs = engine.restore_specs(version.spec)
            self.specs.put(version.id, specs)
        return specs

    def load(self, instance: Instance) -> Live:
        """The instance's live workflow: from the cache when its version still matches, else the rows."""
        live = self.workflows.get(instance.id)
        if live is not None and live.lock_version == instance.lock_version:
            return live
        rows = db.session.execute(
            select(TaskState.scope, TaskState.task_id, TaskState.doc).where(TaskState.instance_id == instance.id)
        ).all()
        specs = self.specs_for(instance.version)
        workflow = engine.codec().load(specs, instance.head, rows, engine.script_engine())
        return Live(instance.lock_version, workflow, engine.snapshot(workflow))

    def save(self, instance: Instance, live: Live) -> list:
        """Write the head and the changed task rows; return the changed tasks for projection."""
        changes, after, changed = engine.codec().changes(live.workflow, live.snapshot)
        instance.head = changes.head
        instance.serializer_version = engine.SERIALIZER_VERSION
        if changes.deletes:
            db.session.execute(delete(TaskState).where(
                TaskState.instance_id == instance.id, TaskState.task_id.in_(changes.deletes)))
        upsert(TaskState, [{"instance_id": instance.id, "task_id": t, "scope": s, "doc": d}
                           for s, t, d in changes.upserts], ["instance_id", "task_id"], ["scope", "doc"])
        live.snapshot = after
        return changed, changes.deletes

    def remember(self, instance: Instance, live: Live) -> None:
        live.lock_version = instance.lock_version
        self.workflows.put(instance.id, live)
        if self.verify:
            self.check_round_trip(instance, live)

    def forget(self, instance_id: int) -> None:
        self.workflows.pop(instance_id)

    def check_round_trip(self, instance: Instance, live: Live) -> None:
        """Reload from the database and compare with the live workflow (tests turn this on)."""
        self.workflows.pop(instance.id)
        db.session.refresh(instance)
        reloaded = self.load(instance).workflow
        mismatch = engine.compare(live.workflow, reloaded)
        if mismatch:
            raise AssertionError(f"instance {instance.id}: stored state differs from live workflow: {mismatch}")
        self.workflows.put(instance.id, live)
