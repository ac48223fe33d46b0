"""The step transaction: the only code that changes instance state.

Every step runs in one write transaction: lock the instance → engine call → save state →
re-project HumanTask/Timer rows → append an Event row → commit. A failure anywhere rolls all of it
back and drops the cached workflow.
"""

from collections.abc import Callable
from contextlib import contextmanager
from time import perf_counter

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from .. import engine, monitoring
from ..clock import now
from ..extensions import db
from ..models import Event, HumanTask, Instance, Notification, Observation, PathwayVersion, Score
from . import _compiled, deliveries, projection, records
from .answers import InvalidAnswers, field_errors
from .database import WRITING, insert_rows, lock, write
from .projection import Projected, existing, project
from .queries import completion_by_key, instance_tasks, instance_timers
from .refusal import N_, Refused
from .store import InstanceRow, Live, store

# What a suspended instance still takes: an operator's resuming or ending it.
WHILE_SUSPENDED = ("resumed", "cancelled", "consent_withdrawn", "ended_by_team")
# Why an ended instance or a done task takes no more steps, by its state.
ENDED = {"completed": N_("instance %(instance)s is completed"), "cancelled": N_("instance %(instance)s is cancelled")}
DONE = {"completed": N_("task %(task)s is completed"), "cancelled": N_("task %(task)s is cancelled"),
        "missed": N_("task %(task)s is closed: its time ran out")}


class _Step:
    """One step in progress: what to remember after commit.

    A failed step needs no undoing in memory: loading took its workflow out of the cache.
    """

    instance: InstanceRow | None = None
    live: Live | None = None
    projected: Projected | None = None
    kind: str | None = None  # the event it wrote: what its time is counted under


@contextmanager
def _write(respond: bool = True):
    """One step's write transaction (see ``database.write``); ``respond``: also read the open tasks and
    timers to answer with. A step is a transaction of its own: what it remembers is true once it commits."""
    if db.session().info.get(WRITING):
        raise RuntimeError("a step runs in a transaction of its own, not inside another write")
    step, started = _Step(), perf_counter()
    try:
        with write(), _compiled.one_connection():
            yield step
            lock_version = step.instance.lock_version if step.live else None
            if step.live is not None and respond:
                # What the caller shows next is read before commit: no second transaction for it.
                step.instance.tasks = instance_tasks(step.instance.id)
                step.instance.timers = instance_timers(step.instance.id)
    except (StaleDataError, IntegrityError) as exc:
        raise Refused(409, N_("the instance changed meanwhile; reload and try again")) from exc
    if step.live is not None:
        store().remember(step.instance.id, lock_version, step.live)
    if step.kind is not None:
        monitoring.step_taken(step.kind, perf_counter() - started)
    if step.projected is not None:
        for listener in current_app.extensions.get("polku_after_step", ()):
            listener(step.projected)


def _run(instance: InstanceRow, live: Live, operation: Callable) -> dict | None:
    """Run an engine operation; an incident keeps the state reached and is recorded on the instance."""
    try:
        operation(live.workflow)
    except engine.EngineIncident as exc:
        instance.status = "incident"
        instance.incident = f"{exc.element or 'process'}: {exc}"
        instance.incident_element, instance.incident_at = exc.element, now()
        return {"element": exc.element, "message": str(exc)}
    return None


def _finish(step: _Step, actor: str, kind: str, event: dict) -> InstanceRow:
    instance, live, at = step.instance, step.live, now()  # one time for everything this step writes
    step.kind = kind
    if instance.status == "running" and engine.runtime.is_completed(live.workflow):
        instance.status, instance.ended_at = "completed", at
    instance.updated_at = at
    # What it can take now (an integration asks before it sends): only a pathway that declares messages looks.
    waits = instance.status in ("running", "incident") and instance.messages
    instance.waiting_for = sorted(engine.runtime.waiting_messages(live.workflow)) if waits else []
    with _compiled.pipelined():  # the writes need no answers: on PostgreSQL they travel together
        changed, changes = store().save(instance, live)
        step.projected = project(instance, store().info(instance.version_id), changed, changes, actor, at,
                                 live.projected)
        live.projected = step.projected.ids
        instance.told = step.projected.told
        if step.projected.fired:
            event["data"] = {**(event.get("data") or {}),
                             "timers": [{"id": t.id, "spec": t.spec} for t in step.projected.fired]}
        if store().verify and live.projected != existing(instance.id):
            raise AssertionError(f"instance {instance.id}: kept task/timer ids {live.projected} differ from the rows")
        insert_rows(Event, [{"instance_id": instance.id, "actor": actor, "kind": kind, "at": at, "task_id": None,
                             "spec": None, "data": None, "idempotency_key": None, **event}])
    for write_also in current_app.extensions.get("polku_in_step", ()):  # the outbox's messages of it
        write_also(instance, store().info(instance.version_id), kind, event, step.projected)
    return instance


def _advance(step: _Step, instance_id: int, actor: str, kind: str, operation: Callable,
             check: Callable | None = None, locked: InstanceRow | None = None, **event) -> InstanceRow:
    """Lock (unless ``locked`` is the row already locked), load, check, run and persist one step
    inside the current write transaction."""
    instance = step.instance = locked or store().lock(instance_id)
    if instance is None:
        raise Refused(404, N_("instance %(instance)s not found"), instance=instance_id)
    if instance.status in ("completed", "cancelled"):
        raise Refused(409, ENDED[instance.status], instance=instance_id)
    if instance.status == "suspended" and kind not in WHILE_SUSPENDED:
        raise Refused(409, N_("instance %(instance)s is suspended: an operator resumes it first"), instance=instance_id)
    with engine.in_zone(zone_of(instance.version_id), instance.created_at):
        step.live = store().load(instance)
        if check is not None:
            check(instance, step.live.workflow)
        incident = _run(instance, step.live, operation)
        if incident:
            event["data"] = {**(event.get("data") or {}), "incident": incident}
        return _finish(step, actor, kind, event)


def zone_of(version_id: int) -> str:
    """Dates without a zone in this version's timers are read in its zone, else the service's."""
    return store().info(version_id).time_zone or current_app.config["POLKU_TIME_ZONE"]


def start(version: PathwayVersion, actor: str, data: dict, business_key: str | None,
          client_id: str | None, records: Callable[[int], None] | None = None) -> InstanceRow:
    """Start an instance; ``records`` writes what belongs with the start (a consent) in its transaction."""
    with _write() as step, engine.in_zone(zone_of(version.id), now()):
        info = store().info(version.id)
        workflow = engine.runtime.start(info.specs, engine.script_engine(), data)
        duration = info.settings.get("duration")
        instance = step.instance = store().create(
            version.id, business_key=business_key, client_id=client_id, started_by=actor,
            ends_at=engine.runtime.due_after(now(), duration) if duration else None)
        if records is not None:
            records(instance.id)
        step.live = Live(instance.lock_version, workflow, engine.Snapshot(), projected=(set(), set()))
        incident = _run(instance, step.live, engine.runtime.advance)
        _finish(step, actor, "started", {"data": {"variables": data, **({"incident": incident} if incident else {})}})
    return instance


def complete(task_id: str, data, actor: str, idempotency_key: str | None = None) -> InstanceRow | Instance:
    """Complete a human task with answers checked against its form; a repeated key completes once."""
    try:
        with _write() as step:
            task = _compiled.first(TASK, {"id": task_id})
            if task is None:
                raise Refused(404, N_("task %(task)s not found"), task=task_id)
            replay = _replay(idempotency_key, task_id)
            if replay is not None:
                return replay
            if task.state != "open":
                raise Refused(409, DONE[task.state], task=task_id)
            done = _advance(step, task.instance_id, actor, "task_completed",
                            lambda wf: engine.runtime.complete(wf, task_id, data), _task_check(task, data),
                            task_id=task_id, spec=task.spec, data={"answers": data}, idempotency_key=idempotency_key)
            form = store().info(task.version_id).forms.get(task.form) if task.form else None
            insert_rows(Observation, records.rows_for(form, data, done.id, done.client_id, task_id, actor,
                                                           done.updated_at))
            insert_rows(Score, records.score_rows(form, data, done, task.spec, done.updated_at))
            return done
    except Refused:
        # A concurrent retry of the same completion may have won; then this one is its replay.
        replay = idempotency_key and _replay(idempotency_key, task_id)
        if replay:
            return replay
        raise


TASK = select(*(HumanTask.__table__.c[name] for name in ("id", "instance_id", "version_id", "spec", "form", "state"))
              ).where(HumanTask.__table__.c.id == bindparam("id"))


def _replay(idempotency_key: str | None, task_id: str) -> Instance | None:
    done = completion_by_key(idempotency_key) if idempotency_key else None
    if done is None:
        return None
    if done.task_id != task_id:
        raise Refused(409, N_("this Idempotency-Key was already used for another task"))
    return db.session.get(Instance, done.instance_id)


def _task_check(task, data) -> Callable:
    def check(instance: InstanceRow, workflow) -> None:
        # A task without a form takes no answers: otherwise anyone could set the process's variables.
        info = store().info(task.version_id)
        if task.form is None:
            errors = _no_answers(data, "this task has no form and takes no answers")
        elif info.task_meta.get(task.spec, {}).get("diary"):  # its entries were added one by one
            errors = _no_answers(data, "a diary is marked done without answers; its entries are added one by one")
        else:
            errors = field_errors(info.forms.get(task.form), data)
        if errors:
            raise InvalidAnswers(errors)
        try:
            engine.runtime.open_task(workflow, task.id)
        except engine.TaskNotOpen:
            raise Refused(409, N_("task %(task)s is no longer open"), task=task.id) from None
    return check


def _no_answers(data, why: str) -> list[dict]:
    return [{"field": "/", "message": why}] if data else []


def deliver(instance_id: int, name: str, payload: dict, actor: str,
            records: Callable[[], None] | None = None) -> InstanceRow | Instance:
    """Deliver a named message; ``records`` writes what belongs with it (the readings it tells of) in its
    transaction."""
    def ensure_waiting(instance, workflow):
        if name not in engine.runtime.waiting_messages(workflow):
            raise Refused(409, N_("instance %(instance)s is not waiting for message '%(name)s'"),
                          instance=instance_id, name=name)
        deliveries.check_payload(instance.version_id, name, payload)

    with _write() as step:
        done = _advance(step, instance_id, actor, "message_delivered",
                        lambda wf: engine.runtime.deliver_message(wf, name, payload), ensure_waiting,
                        spec=name, data={"message": name, "payload": payload})
        if records is not None:
            records()
        return done


def fire_next(claim: Callable[[], InstanceRow | None]) -> tuple[int, int] | None:
    """Fire the due timers of the instance ``claim`` picks (and locks) inside this step's transaction.

    Returns the instance id and how many timers fired, or None when nothing was due.
    """
    with _write(respond=False) as step:  # the scheduler answers nobody
        claimed = claim()
        if claimed is None:
            return None
        # Their due times, read before the step drops the rows of those that fire: how late each fired.
        due = {t.id: t.due_at for t in instance_timers(claimed.id)} if monitoring.recording() else {}
        _advance(step, claimed.id, "scheduler", "timers_fired", engine.runtime.fire_timers, locked=claimed)
    monitoring.timers_fired(due, step.projected.fired, step.instance.updated_at)
    return claimed.id, len(step.projected.fired)


def cancel(instance_id: int, actor: str, reason: str | None, status: str = "cancelled",
           kind: str = "cancelled", records: Callable[[], None] | None = None) -> InstanceRow | Instance:
    """End an instance before its flow does: ``status`` completed when its duration ran out, else cancelled;
    ``records`` writes what belongs with the ending (a withdrawn consent) in its transaction."""
    def mark(instance: InstanceRow, workflow) -> None:
        instance.status, instance.ended_at = status, now()
        if records is not None:
            records()

    with _write() as step:
        return _advance(step, instance_id, actor, kind, engine.runtime.cancel, mark, data={"reason": reason})


def handle_incident(instance_id: int, actor: str, action: str, reason: str | None = None) -> InstanceRow | Instance:
    """An operator's answer to an incident: ``retry`` the failed step (as the instance's version has it now, so
    after a migration to a fixed version it runs the fix) or ``skip`` it with a reason. Either goes on from there;
    failing again is a new incident. The event records who did it, why, and what the incident was."""
    def check(instance: InstanceRow, workflow) -> None:
        if instance.status != "incident":
            raise Refused(409, N_("instance %(instance)s has no incident to handle"), instance=instance_id)
        if action == "skip" and not (reason or "").strip():
            raise Refused(422, N_("say why the step is skipped: the reason is kept in the instance's history"))
        was = {"element": instance.incident_element, "message": instance.incident}
        instance.status, instance.incident, instance.incident_element, instance.incident_at = \
            "running", None, None, None
        handled.update(was)

    handled: dict = {}
    operation = engine.runtime.retry if action == "retry" else engine.runtime.skip
    with _write() as step:
        return _advance(step, instance_id, actor, f"incident_{action}", operation, check,
                        data={"reason": reason, "handled": handled})


def suspend(instance_id: int, actor: str, reason: str | None) -> InstanceRow | Instance:
    """Hold an instance where it stands: no task of it can be done and no timer of it fires until it is
    resumed (a timer due meanwhile fires then, late)."""
    def check(instance: InstanceRow, workflow) -> None:
        if instance.status not in ("running", "incident"):
            raise Refused(409, N_("instance %(instance)s is already suspended"), instance=instance_id)
        instance.status = "suspended"

    with _write() as step:
        return _advance(step, instance_id, actor, "suspended", lambda wf: None, check, data={"reason": reason})


def resume(instance_id: int, actor: str) -> InstanceRow | Instance:
    """Let a suspended instance go on: as it was, running or still standing on its incident."""
    def check(instance: InstanceRow, workflow) -> None:
        if instance.status != "suspended":
            raise Refused(409, N_("instance %(instance)s is not suspended"), instance=instance_id)
        instance.status = "incident" if instance.incident else "running"

    with _write() as step:
        return _advance(step, instance_id, actor, "resumed", lambda wf: None, check)


def migrate(instance_id: int, version: PathwayVersion, actor: str) -> tuple[InstanceRow, "engine.migration.Plan"]:
    """Move an instance to another version of its pathway, in a transaction of its own, with SpiffWorkflow's
    diff and migrate (``engine.migration``): refused, and left as it was, when a task it stands on is not in
    that version. Its open tasks take the new version's titles, forms and teams; the history says who moved
    it, from which version to which, and what changed where it stands. Returns the instance and the plan it
    followed."""
    with _write() as step:
        instance = step.instance = store().lock(instance_id)
        _check_move(instance, instance_id, version)
        was = instance.version_number
        with engine.in_zone(zone_of(instance.version_id), instance.created_at):
            before = store().load(instance)
            try:
                moved, plan = engine.migration.migrate(before.workflow, store().info(version.id).specs)
            except engine.migration.MigrationRefused as exc:
                raise Refused(409, N_("instance %(instance)s cannot move to version %(version)s: %(why)s"),
                              instance=instance_id, version=version.number, why=exc.reason) from None
            step.live = Live(instance.lock_version, moved, engine.state.replaced(before.snapshot))
            info = store().info(version.id)
            instance.version_id, instance.version_number, instance.messages = version.id, version.number, info.messages
            _compiled.execute(MOVE, {"row_id": instance.id, "version_id": version.id})
            done = _finish(step, actor, "migrated", {"data": {
                "from": was, "to": version.number, "standing": plan.moved, "changed": plan.changed,
                "added": plan.added}})
            projection.refresh_open(done, info, moved)
        return done, plan


MOVE = update(Instance.__table__).where(Instance.__table__.c.id == bindparam("row_id")).values(
    version_id=bindparam("version_id"))


def _check_move(instance: InstanceRow | None, instance_id: int, version: PathwayVersion) -> None:
    if instance is None:
        raise Refused(404, N_("instance %(instance)s not found"), instance=instance_id)
    if instance.status in ("completed", "cancelled"):
        raise Refused(409, ENDED[instance.status], instance=instance_id)
    if instance.pathway != version.pathway.key:
        raise Refused(409, N_("version %(version)s is of another pathway"), version=version.number)
    if instance.version_id == version.id:
        raise Refused(409, N_("instance %(instance)s is on version %(version)s already"), instance=instance_id,
                      version=version.number)


def claim(task_id: str, assignee: str) -> HumanTask:
    with _write():
        task = _open_task(task_id)
        if task.assignee not in (None, assignee):
            raise Refused(409, N_("task %(task)s is assigned to %(assignee)s"), task=task_id, assignee=task.assignee)
        task.assignee = assignee
    return task


def release(task_id: str) -> HumanTask:
    with _write():
        task = _open_task(task_id)
        task.assignee = None
    return task


def mark_read(notification_id: int) -> Notification:
    with _write():
        notification = lock(Notification, notification_id)
        if notification is None:
            raise Refused(404, N_("notification %(notification)s not found"), notification=notification_id)
        notification.read_at = notification.read_at or now()
    return notification


def _open_task(task_id: str) -> HumanTask:
    task = lock(HumanTask, task_id)
    if task is None:
        raise Refused(404, N_("task %(task)s not found"), task=task_id)
    if task.state != "open":
        raise Refused(409, DONE[task.state], task=task_id)
    return task
