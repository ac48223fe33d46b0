"""Timers fired by real server processes on one database: every timer's transition applied exactly once.

Both tests run on the real clock. The servers (``flask --app orchestrator serve``) start first;
then many instances are seeded in-process, each waiting for the same date timer a little ahead,
and the servers' schedulers fire them. The database is the witness: one recorded firing per
instance, one open follow-up task each, no timer left; the servers' logs tell who fired how many.
"""

import os
import time
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from orchestrator.core import steps
from orchestrator.extensions import db
from orchestrator.models import Event, HumanTask, Instance, Timer
from orchestrator.tools import deploy

from .conftest import ROOT
from .fixtures import timer_shapes as shapes
from .fixtures.builders import chain_bpmn
from .fixtures.processes import Server, wait_for

KEY = "moment"
TIMER, NEXT_TASK = "ajastin", "jatko"  # the fixture's timer and the user task after it
EVENTS, TASKS = Event.__table__, HumanTask.__table__
# The timers fall due once seeding is surely over: a fixed margin plus three times the time seeding
# should take at the rate a few trial starts show (the machine may be busy with other work, and
# this kind of machine drifts in speed by 2-3x).
MARGIN, SAFETY, TRIAL_STARTS = 3.0, 3.0, 50
DEADLINE = 120  # seconds to wait for an outcome before failing; not how long it should take
# Enough timers for a batch of several seconds, to kill a server in the middle of: a timer step
# costs several times as much on PostgreSQL as on SQLite (~15 ms against ~3 ms on 2 cores).
BATCH = {"sqlite": 1500, "postgresql": 600}


# --------------------------------------------------------------------------- set-up


@pytest.fixture
def seeding(app):
    """The app to seed instances with: seeding is set-up here, so skip the per-step state check (slow)."""
    app.extensions["polku_store"].verify = False
    return app


def deploy_pathway(key: str, bpmn: str):
    package = deploy.from_files({f"{key}.bpmn": bpmn.encode()}, key, ROOT / "forms")
    return deploy.deploy([package], "tester")[0].version


def start(version) -> int:
    return steps.start(version, "tester", {}, None, None).id


def seconds_per_start() -> float:
    """What one instance start costs now, measured on a one-task pathway of its own."""
    trial = deploy_pathway("trial", chain_bpmn(1, pid="trial"))
    start(trial)  # loads the version once
    began = time.perf_counter()
    for _ in range(TRIAL_STARTS):
        start(trial)
    return (time.perf_counter() - began) / TRIAL_STARTS


def seed(count: int) -> list[int]:
    """Start ``count`` instances of a pathway whose one timer is a date timer, the same moment for all."""
    lead = MARGIN + SAFETY * count * seconds_per_start()
    due = (datetime.now(UTC) + timedelta(seconds=lead + 1)).replace(microsecond=0)
    version = deploy_pathway(KEY, shapes.intermediate("timeDate", due.isoformat(), pid=KEY))
    ids = [start(version) for _ in range(count)]
    db.session.remove()  # no transaction of ours stays open while the servers work
    left = (due - datetime.now(UTC)).total_seconds()
    assert left > 0, f"seeding ended {-left:.1f} s after the timers fell due: raise SAFETY"
    assert scalar(select(func.count()).select_from(Timer.__table__).where(Timer.due_at == due)) == count
    return ids


def server_env(app) -> dict[str, str]:
    return {**os.environ,
            "POLKU_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "POLKU_SCHEDULER": "serve",
            "POLKU_TIMER_SWEEP_SECONDS": "0.5",
            "POLKU_FORMS_DIR": str(ROOT / "forms")}


# --------------------------------------------------------------------------- reading the outcome


def scalar(stmt):
    """One value, read on a connection of its own: what other processes committed up to now."""
    with db.engine.connect() as conn:
        return conn.execute(stmt).scalar()


def wait_until_disconnected(server: Server) -> None:
    """Until the database has dropped a dead server's connections, rolling back what they had open.

    A dead process's SQLite transaction is gone with it; a PostgreSQL backend goes on a moment.
    """
    if db.engine.dialect.name == "postgresql":
        stmt = text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name")
        wait_for(lambda: scalar(stmt.bindparams(name=server.application_name)) == 0, DEADLINE, [],
                 f"the database dropped the connections of {server.name}")


def timers_fired_events() -> int:
    return scalar(select(func.count()).select_from(EVENTS).where(EVENTS.c.kind == "timers_fired"))


def instances_with_next_task() -> int:
    return scalar(select(func.count(TASKS.c.instance_id.distinct()))
                  .where(TASKS.c.spec == NEXT_TASK, TASKS.c.state == "open"))


def firings() -> Counter:
    """(instance id, timer spec) → how many times the history records that timer firing."""
    with db.engine.connect() as conn:
        rows = conn.execute(select(EVENTS.c.instance_id, EVENTS.c.data).where(EVENTS.c.kind == "timers_fired"))
        return Counter((instance_id, timer["spec"])
                       for instance_id, data in rows for timer in (data or {}).get("timers", []))


def assert_each_timer_fired_once(ids: list[int]) -> None:
    fired = firings()
    assert sum(fired.values()) == len(ids), "one firing recorded per timer"
    assert fired == Counter({(i, TIMER): 1 for i in ids}), "exactly one firing per instance"
    with db.engine.connect() as conn:
        next_tasks = Counter(conn.execute(select(TASKS.c.instance_id, TASKS.c.state).where(TASKS.c.spec == NEXT_TASK)))
        assert next_tasks == Counter({(i, "open"): 1 for i in ids}), "one open follow-up task per instance"
        assert conn.execute(select(func.count()).select_from(Timer.__table__)).scalar() == 0, "no timer left"
        statuses = conn.execute(select(Instance.status, func.count()).where(Instance.id.in_(ids))
                                .group_by(Instance.status)).all()
        assert statuses == [("running", len(ids))]


# --------------------------------------------------------------------------- the tests


def test_two_scheduler_processes_fire_a_thousand_simultaneous_timers_once_each(seeding, ctx, tmp_path):
    count = 1000
    env = server_env(seeding)
    with ExitStack() as stack:
        servers = [stack.enter_context(Server(name, env, tmp_path)) for name in ("first", "second")]
        for server in servers:
            server.wait_until_up()
        ids = seed(count)
        wait_for(lambda: instances_with_next_task() == count, DEADLINE, servers,
                 f"every instance has its '{NEXT_TASK}'")
        # A scheduler run logs how many it fired after its last step: wait for both runs to end.
        wait_for(lambda: sum(s.fired() for s in servers) >= count, DEADLINE, servers, "both schedulers logged")
        fired_by = {server.name: server.fired() for server in servers}

    assert_each_timer_fired_once(ids)
    assert timers_fired_events() == count, "no step claimed an instance with nothing left to fire"
    assert [s.empty_steps() for s in servers] == [0, 0]
    assert sum(fired_by.values()) == count, f"each firing done by one process: {fired_by}"
    if db.engine.dialect.name == "postgresql":  # SKIP LOCKED lets both claim at once
        assert all(fired_by.values()), f"both processes fired timers: {fired_by}"
    # On SQLite one writer at a time: a busy process may keep the lock from the other for the whole
    # batch (SQLite's lock hand-over is not fair), which is still every timer exactly once.
    assert [s.errors() for s in servers] == [[], []]


def test_a_scheduler_killed_mid_batch_leaves_no_timer_fired_twice_or_lost(seeding, ctx, tmp_path):
    count = BATCH[db.engine.dialect.name]
    env = server_env(seeding)
    with Server("killed", env, tmp_path) as killed:
        killed.wait_until_up()
        ids = seed(count)
        wait_for(lambda: timers_fired_events() >= count // 5, DEADLINE, [killed], "a fifth of the timers fired",
                 poll=0.01)
        killed.kill()
    wait_until_disconnected(killed)
    fired_at_kill = sum(firings().values())
    assert 0 < fired_at_kill < count, f"the kill landed mid-batch ({fired_at_kill} of {count} fired)"
    assert killed.runs() == [], "the killed scheduler never finished its batch"

    with Server("restarted", env, tmp_path) as restarted:
        wait_for(lambda: instances_with_next_task() == count, DEADLINE, [restarted],
                 f"every instance has its '{NEXT_TASK}'")
        wait_for(lambda: restarted.fired() >= count - fired_at_kill, DEADLINE, [restarted], "the scheduler logged")
        fired_after_restart = restarted.fired()

    assert_each_timer_fired_once(ids)
    assert fired_after_restart == count - fired_at_kill, "the restarted process fired exactly the rest"
    assert restarted.errors() == []
