"""The step transaction: the only code that changes instance state.

Every step: lock the instance → engine call → save state → re-project HumanTask/Timer rows →
append an Event row → commit. A failure anywhere rolls all of it back and drops the cached workflow.
"""

from collections.abc import Callable
from contextlib import contextmanager

from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from . import engine
from .clock import now
from .database import locked
from .extensions import db
from .models import Event, Instance, PathwayVersion
from .projection import project
from .store import Live, WorkflowStore


class StepRefused(Exception):
    """A step that cannot happen as asked; ``status`` is the HTTP status that says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def store() -> WorkflowStore:
    return current_app.extensions["polku_store"]


@contextmanager
def _transaction(instance_id: int | None):
    try:
        yield
        db.session.commit()
    except (StaleDataError, IntegrityError) as exc:
        db.session.rollback()
        if instance_id is not None:
            store().forget(instance_id)
        raise StepRefused(409, "the instance changed meanwhile; reload and try again") from exc
    except BaseException:
        db.session.rollback()
        if instance_id is not None:
            store().forget(instance_id)
        raise


def _finish(instance: Instance, live: Live, actor: str, kind: str, **event) -> Instance:
    # Every instance field is set before the first query, so the row is written once per step.
    if instance.status == "running" and engine.runtime.is_completed(live.workflow):
        instance.status, instance.ended_at = "completed", now()
    instance.updated_at = now()
    changed, deleted = store().save(instance, live)
    project(instance, changed, deleted, actor)
    db.session.add(Event(instance_id=instance.id, actor=actor, kind=kind, at=now(), **event))
    db.session.flush()
    return instance


def _run(instance: Instance, live: Live, operation: Callable) -> tuple[str | None, dict | None]:
    """Run an engine operation; an incident keeps the state reached and is recorded on the instance."""
    try:
        operation(live.workflow)
    except engine.EngineIncident as exc:
        instance.status = "incident"
        instance.incident = f"{exc.element or 'process'}: {exc}"
        return "incident", {"element": exc.element, "message": str(exc)}
    return None, None


def start(version: PathwayVersion, actor: str, data: dict, business_key: str | None,
          client_id: str | None) -> Instance:
    with _transaction(None):
        workflow = engine.runtime.start(store().specs_for(version), engine.script_engine(), data)
        instance = Instance(version=version, business_key=business_key, client_id=client_id, status="running",
                            head={}, serializer_version=engine.SERIALIZER_VERSION, started_by=actor)
        db.session.add(instance)
        db.session.flush()
        live = Live(instance.lock_version, workflow, engine.Snapshot())
        incident, detail = _run(instance, live, engine.runtime.advance)
        _finish(instance, live, actor, "started", data={"variables": data, **({"incident": detail} if detail else {})})
    store().remember(instance, live)
    return instance


def _step(instance_id: int, actor: str, kind: str, operation: Callable, check: Callable | None = None,
          then: Callable[[Instance], None] | None = None, **event) -> Instance:
    with _transaction(instance_id):
        instance = locked(Instance, instance_id)
        if instance is None:
            raise StepRefused(404, f"instance {instance_id} not found")
        if instance.status in ("completed", "cancelled"):
            raise StepRefused(409, f"instance {instance_id} is {instance.status}")
        live = store().load(instance)
        if check is not None:
            check(live.workflow)
        incident, detail = _run(instance, live, operation)
        if detail:
            event["data"] = {**(event.get("data") or {}), "incident": detail}
        if then is not None:
            then(instance)
        _finish(instance, live, actor, kind, **event)
    store().remember(instance, live)
    return instance


def complete(instance_id: int, task_id: str, spec: str, data: dict, actor: str,
             idempotency_key: str | None = None) -> Instance:
    def ensure_open(workflow):
        try:
            engine.runtime.open_task(workflow, task_id)
        except engine.TaskNotOpen:
            raise StepRefused(409, f"task {task_id} is no longer open") from None

    return _step(instance_id, actor, "task_completed",
                 lambda wf: engine.runtime.complete(wf, task_id, data), ensure_open,
                 task_id=task_id, spec=spec, data={"answers": data}, idempotency_key=idempotency_key)


def deliver(instance_id: int, name: str, payload: dict, actor: str) -> Instance:
    def ensure_waiting(workflow):
        if name not in engine.runtime.waiting_messages(workflow):
            raise StepRefused(409, f"instance {instance_id} is not waiting for message '{name}'")

    return _step(instance_id, actor, "message_delivered",
                 lambda wf: engine.runtime.deliver_message(wf, name, payload), ensure_waiting,
                 spec=name, data={"message": name, "payload": payload})


def fire_timers(instance_id: int, actor: str = "scheduler") -> Instance:
    return _step(instance_id, actor, "timers_fired", engine.runtime.fire_timers)


def cancel(instance_id: int, actor: str, reason: str | None) -> Instance:
    def mark(instance: Instance) -> None:
        instance.status, instance.ended_at = "cancelled", now()

    return _step(instance_id, actor, "cancelled", engine.runtime.cancel, then=mark, data={"reason": reason})
