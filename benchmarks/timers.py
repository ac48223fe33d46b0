"""Timers at scale: firing lag from due time to commit, firings per second, and the idle sweep's cost.

For each database (SQLite file, PostgreSQL) and each number N of pending timers (default 10,000 and
100,000), on a fresh database migrated with ``flask db upgrade``:

1. Seeding. The pathway is ``tests/fixtures/timer_shapes.intermediate`` (start -> intermediate
   timer "ajastin" -> user task "jatko" -> end) with its timeDate expression set to the process
   variable ``due``, so each instance carries its own due time. N instances wait on their timer:
   ``--due`` of them (default 10,000) will fall due spread evenly over ``--window`` seconds
   (default 60); the rest are far in the future (30 to 395 days), pending but never due during the
   run. Every timer that falls due belongs to an instance started with ``steps.start`` (one step
   transaction each, as the API does). So are 200 far-future ones; the other far-future instances
   are copies of those made in SQL: the instance row, its task_state documents, its Timer row and
   its "started" event, with every SpiffWorkflow task id replaced by a fresh UUID and the due time
   replaced, consistently across the head, the task documents and the Timer row (two copies are
   loaded back as workflows and checked). No copy is ever loaded during the run, because none
   falls due (``--no-copy`` starts them all for real). When N leaves no room for the 200, the
   ones not needed are cancelled (no longer pending). PostgreSQL gets ``ANALYZE`` after seeding,
   as autovacuum soon would; SQLite gets none.
   How long seeding takes cannot be known in advance (``steps.start`` speed varies by 2x on a
   shared machine), so the instances of the window are started with a parked due time 500 days
   ahead, and when seeding and the idle-sweep measurement are done the window is opened: their
   due time is rewritten, in the task documents the engine reads it from and in the Timer rows,
   to 10 s later + i x window / due (the same rewrite the copies get; two instances are loaded
   back and checked).
2. The idle sweep, while nothing is due yet (all N timers pending): the claim query alone in its
   own transaction, ``firing.fire_due()``, ``notify.deliver_pending()`` and ``firing.next_due()``,
   and all three together, which is the database part of every ``TimerScheduler.run``. p50 over
   many repetitions; it must stay flat from the smallest N to the largest (an index, not a scan).
   The query plans of the claim query and of ``next_due`` are printed (EXPLAIN QUERY PLAN on
   SQLite; EXPLAIN ANALYZE on PostgreSQL, in a transaction rolled back).
3. The firing window: the real in-process ``TimerScheduler`` (APScheduler; a sweep every
   ``--sweep`` seconds plus the wake-up armed at the earliest due time) in a fresh app, so no
   workflow is cached, as in a server restarted after the timers were set. Lag per timer = the
   ``at`` of its 'timers_fired' event (the step's timestamp, taken just before its commit) minus
   its due time: p50, p99, max; fired per second over the window; the share of a CPU core this
   process used meanwhile; and how many scheduler runs APScheduler skipped (a run of the same job
   was still going: its "maximum number of running instances reached" warning).
4. The burst: ``--burst`` more instances (default 2,000) started with one and the same due time a
   day ahead; then, in another fresh app, the clock is moved past it and one ``fire_due()`` drains
   them all in one thread: firings per second one thread sustains, and the CPU time this process
   spent per firing. Then the same again on a new set of instances, drained by the scheduler's
   ``fire()`` with its worker threads (``POLKU_TIMER_WORKERS``; PostgreSQL only, SQLite has one
   writer): the capacity behind the lag figures, side by side with one thread.
5. A machine speed reference (``figures.machine_speed_ms``, a fixed pure-Python workload) at the start
   and end of each case: this kind of machine drifts in speed by 2-3x, and the lag target depends on
   firing capacity.

Targets (``ok``/``MISSED``; ``--strict`` exits 1 when one is missed):

* p99 firing lag <= 2 s with 10,000 timers falling due within one minute (checked at every N);
* every timer that fell due fired exactly once, none early, nothing else fired, Polku logged no
  warning or error, APScheduler skipped no scheduler run (a run never waits on another, so a job's
  next time cannot come while it is still going); the whole burst fired;
* the claim query's plan uses the index on ``timer.due_at``;
* idle sweep p50 (and the claim query's p50) at the largest N <= 1.5 x its p50 at the smallest
  N + 0.1 ms, per database.

The machine's load average is printed with each case: figures taken while other work runs on the
same cores are slower, and the lag target depends on firing capacity.

Run it from the repository root (the default run takes about 10 minutes per database)::

    .venv/bin/python benchmarks/firing.py [--database sqlite|postgresql|both] [--sizes 10000,100000]
        [--due 10000] [--window 60] [--sweep 1] [--burst 2000] [--strict]
    .ci/with-postgres .venv/bin/python benchmarks/firing.py --database both --sizes 2000 --due 1000

PostgreSQL is the database named by POLKU_TEST_DATABASE_URL (``.ci/with-postgres`` sets it); its
public schema is dropped and made again for each N. The last line of output is ``RESULT {...}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from figures import Timings, machine_speed_ms
from sqlalchemy import bindparam, create_engine, event, func, insert, select, text, update

from config import Config
from orchestrator import create_app, engine
from orchestrator.clock import CLOCK, now
from orchestrator.core import _compiled, firing, notify, steps
from orchestrator.core.scheduler import TimerScheduler
from orchestrator.extensions import db
from orchestrator.models import Event, Instance, PathwayVersion, TaskState, Timer
from orchestrator.tools import deploy

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PATHWAY = "ajastus"
ACTOR = "bench"
LAG_TARGET_MS = 2000.0
FLAT_FACTOR = 1.5
FLAT_SLACK_MS = 0.1
DUE_INDEX = "ix_timer_due_at"
MODELS = 200  # far-future instances started for real, which the copies are made from
FILLER_FROM, FILLER_SPAN = timedelta(days=30), timedelta(days=365)
PARKED_FROM = timedelta(days=500)  # where the timers of the window wait until it opens
BURST_AHEAD = timedelta(days=1)
WINDOW_LEAD_S = 10.0  # seconds from opening the window (moving its timers there) to its first due time
WARMUP = 20
COPY_BATCH = 5000
SEP = "\x1f"
INSTANCES, TASK_STATES, TIMERS, EVENTS = (m.__table__ for m in (Instance, TaskState, Timer, Event))


# --------------------------------------------------------------------------- figures

@dataclass
class Check:
    name: str
    holds: bool
    detail: str

    def line(self) -> str:
        return f"  [{'ok' if self.holds else 'MISSED':>6}] {self.name}: {self.detail}"


class LogTally(logging.Handler):
    """Counts warnings and errors per logger (orchestrator, APScheduler) instead of printing them."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.counts: Counter = Counter()
        self.first: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        key = f"{record.name} {record.levelname}"
        if record.name.startswith("apscheduler") and "skipped" in record.getMessage():
            job = next((j for j in ("wake-up", "sweep") if f"({j})" in record.getMessage()), "job")
            key = f"apscheduler skipped {job}"
        self.counts[key] += 1
        self.first.setdefault(key, self.format(record)[:600])

    def take(self) -> dict:
        found = {key: {"count": n, "first": self.first[key]} for key, n in self.counts.items()}
        self.counts.clear()
        self.first.clear()
        return found


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


# --------------------------------------------------------------------------- database and app

def timer_bpmn() -> str:
    """The fixture's intermediate timer, its timeDate read from the process variable ``due``."""
    sys.path.insert(0, str(REPO))  # the tests' BPMN fixtures are not an installed package
    from tests.fixtures import timer_shapes

    return timer_shapes.intermediate("timeDate", "DUE", pid=PATHWAY).replace('"DUE"', "due")


def fresh_database(kind: str, tmp: Path, n: int) -> str:
    """An empty database migrated to the current schema; returns its URL."""
    if kind == "sqlite":
        return migrated(f"sqlite:///{tmp / f'timers-{n}.db'}")
    return migrated(emptied(os.environ["POLKU_TEST_DATABASE_URL"]))


def emptied(url: str) -> str:
    """The PostgreSQL database at ``url`` with its public schema dropped and made again; returns its URL."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    return url


def migrated(url: str) -> str:
    """The database at ``url`` migrated to the current schema (``flask db upgrade``); returns its URL."""
    env = {"POLKU_ENV": "development", **os.environ, "POLKU_DATABASE_URL": url, "POLKU_SCHEDULER": "off"}
    done = subprocess.run([str(VENV_BIN / "flask"), "--app", "orchestrator", "db", "upgrade"], cwd=REPO, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return url


@contextmanager
def app_context(url: str, sweep: float):
    """A new app (empty workflow cache) on the database; the benchmark starts the scheduler itself."""

    class BenchConfig(Config):
        POLKU_ENV = "development"
        SQLALCHEMY_DATABASE_URI = url
        POLKU_SCHEDULER = "off"
        POLKU_TIMER_SWEEP_SECONDS = sweep
        POLKU_VERIFY_STATE = False

    app = create_app(BenchConfig)
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def signed_in(client, person: str) -> None:
    """The app's test client signed in as ``person`` through the development sign-in, as a browser would."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").get_data(as_text=True)).group(1)
    response = client.post("/sign-in/test", data={"person": person, "csrf_token": token})
    assert response.status_code == 302, (response.status_code, response.get_data(as_text=True)[-1500:])


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


# --------------------------------------------------------------------------- seeding

@dataclass
class Seeded:
    version_id: int
    pending: int
    parked: dict[int, datetime]  # instance id -> the far-future due time it was started with
    due_at: dict[int, datetime] = field(default_factory=dict)  # instance id -> its due time in the window
    window_start: datetime | None = None
    window_end: datetime | None = None
    start: Timings = field(default_factory=Timings)
    copied: int = 0
    copy_s: float = 0.0
    cancelled: int = 0
    seed_s: float = 0.0
    open_s: float = 0.0  # moving the window's timers into it
    late_s: float = 0.0  # how long after the window began that ended (0 when in time)


def start_one(version: PathwayVersion, at: datetime, timings: Timings) -> int:
    t0 = time.perf_counter()
    row = steps.start(version, ACTOR, {"due": iso(at)}, None, None)
    timings.add(time.perf_counter() - t0)
    return row.id


def far_future(count: int, ahead: timedelta) -> list[datetime]:
    base = now().replace(microsecond=0) + ahead
    step = FILLER_SPAN / max(count, 1)
    return [(base + i * step).replace(microsecond=0) for i in range(count)]


def seed(n: int, args) -> Seeded:
    """N instances waiting on their timers, all far in the future; ``args.due`` of them parked for the window."""
    began = time.perf_counter()
    package = deploy.from_files({f"{PATHWAY}.bpmn": timer_bpmn().encode()}, PATHWAY, REPO / "forms")
    version = deploy.deploy([package], ACTOR)[0].version
    due_count = min(args.due, n)
    filler = n - due_count
    dues = far_future(max(filler, MODELS), FILLER_FROM)
    seeded = Seeded(version.id, n, {})
    models = [start_one(version, at, seeded.start) for at in dues[:MODELS]]
    rest = dues[MODELS:filler]
    if rest and args.no_copy:
        for at in rest:
            start_one(version, at, seeded.start)
    elif rest:
        t0 = time.perf_counter()
        copy_instances([Model.read(i, iso(at)) for i, at in zip(models, dues, strict=False)], rest)
        seeded.copied, seeded.copy_s = len(rest), time.perf_counter() - t0
    for instance_id in models[filler:]:  # models only: not part of the N pending
        steps.cancel(instance_id, ACTOR, "benchmark: copy model only")
        seeded.cancelled += 1
    for at in far_future(due_count, PARKED_FROM):
        seeded.parked[start_one(version, at, seeded.start)] = at
    if not is_sqlite():
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    seeded.seed_s = time.perf_counter() - began
    count_timers(seeded.pending, None, None, 0)
    return seeded


def count_timers(pending: int, start: datetime | None, end: datetime | None, due: int) -> None:
    found = db.session.scalar(select(func.count()).select_from(TIMERS))
    between = db.session.scalar(select(func.count()).select_from(TIMERS).where(
        TIMERS.c.due_at >= start, TIMERS.c.due_at < end)) if start else 0
    db.session.rollback()
    if found != pending or between != due:
        raise RuntimeError(f"{found} timer rows ({between} in the window); expected {pending} ({due})")


def open_window(seeded: Seeded, window: float) -> None:
    """Move the parked timers into the window: the due value in their task documents and their Timer rows.

    The same rewrite the copies get; the engine reads the due time from the task documents.
    """
    t0 = time.perf_counter()
    seeded.window_start = (now() + timedelta(seconds=WINDOW_LEAD_S)).replace(microsecond=0)
    seeded.window_end = seeded.window_start + timedelta(seconds=window)
    spacing = timedelta(seconds=window) / max(len(seeded.parked), 1)
    seeded.due_at = {instance_id: seeded.window_start + j * spacing for j, instance_id in enumerate(seeded.parked)}
    ids = list(seeded.parked)
    for first in range(0, len(ids), COPY_BATCH):
        redate([(i, iso(seeded.parked[i]), seeded.due_at[i]) for i in ids[first:first + COPY_BATCH]])
    for instance_id in (ids[0], ids[-1]):
        verify_waiting(instance_id, seeded.due_at[instance_id])
    count_timers(seeded.pending, seeded.window_start, seeded.window_end, len(ids))
    seeded.open_s = time.perf_counter() - t0
    seeded.late_s = max(0.0, (now() - seeded.window_start).total_seconds())
    if seeded.late_s:
        print(f"  WARNING: the window opened {seeded.late_s:.1f} s after its first due time: the first timers' "
              "lag includes that", flush=True)


REDATE_DOC = (update(TASK_STATES).where(TASK_STATES.c.instance_id == bindparam("row_instance"),
                                        TASK_STATES.c.task_id == bindparam("row_task"))
              .values(doc=bindparam("new_doc")))
REDATE_TIMER = (update(TIMERS).where(TIMERS.c.instance_id == bindparam("row_instance"))
                .values(due_at=bindparam("new_due")))


def redate(batch: list[tuple[int, str, datetime]]) -> None:
    """(instance id, the due text it waits on, its new due time): rewrite its documents and Timer row."""
    old = {instance_id: text_ for instance_id, text_, _ in batch}
    new = {instance_id: at for instance_id, _, at in batch}
    docs = db.session.execute(select(TASK_STATES.c.instance_id, TASK_STATES.c.task_id, TASK_STATES.c.doc)
                              .where(TASK_STATES.c.instance_id.in_(list(old)))).all()
    changed = [{"row_instance": i, "row_task": t, "new_doc": doc.replace(old[i], iso(new[i]))}
               for i, t, doc in docs if old[i] in doc]
    conn = db.session.connection()
    conn.execute(REDATE_DOC, changed)
    conn.execute(REDATE_TIMER, [{"row_instance": i, "new_due": at} for i, at in new.items()])
    db.session.commit()


class Model:
    """A started instance's rows, to copy with fresh task ids and another due time."""

    def __init__(self, instance: dict, docs: list[tuple[str, str, str]], timer: dict, due_text: str):
        self.instance, self.docs, self.timer, self.due_text = instance, docs, timer, due_text
        keys = [task_id for _, task_id, _ in docs] + [due_text]
        self.pattern = re.compile("|".join(re.escape(k) for k in keys))
        self.blob = SEP.join([json.dumps(instance["head"]), *(doc for _, _, doc in docs)])

    @classmethod
    def read(cls, instance_id: int, due_text: str) -> Model:
        instance = dict(db.session.execute(select(INSTANCES).where(INSTANCES.c.id == instance_id)).mappings().one())
        docs = [tuple(r) for r in db.session.execute(select(TASK_STATES.c.scope, TASK_STATES.c.task_id,
                                                            TASK_STATES.c.doc)
                                                     .where(TASK_STATES.c.instance_id == instance_id))]
        timer = dict(db.session.execute(select(TIMERS).where(TIMERS.c.instance_id == instance_id)).mappings().one())
        return cls(instance, docs, timer, due_text)

    def copy(self, new_id: int, at: datetime, rows: dict[str, list]) -> None:
        due_text = iso(at)
        mapping = {task_id: str(uuid.uuid4()) for _, task_id, _ in self.docs}
        mapping[self.due_text] = due_text
        head, *docs = self.pattern.sub(lambda m: mapping[m.group()], self.blob).split(SEP)
        rows["instance"].append({**self.instance, "id": new_id, "head": json.loads(head)})
        rows["task_state"].extend({"instance_id": new_id, "task_id": mapping[task_id],
                                   "scope": mapping.get(scope, scope), "doc": doc}
                                  for (scope, task_id, _), doc in zip(self.docs, docs, strict=True))
        rows["timer"].append({**self.timer, "id": mapping[self.timer["id"]], "instance_id": new_id, "due_at": at})
        rows["event"].append({"instance_id": new_id, "at": self.instance["created_at"], "actor": ACTOR,
                              "kind": "started", "task_id": None, "spec": None,
                              "data": {"variables": {"due": due_text}}, "idempotency_key": None})


def copy_instances(models: list[Model], dues: list[datetime]) -> None:
    next_id = db.session.scalar(select(func.max(INSTANCES.c.id))) + 1
    tables = {"instance": INSTANCES, "task_state": TASK_STATES, "timer": TIMERS, "event": EVENTS}
    for first in range(0, len(dues), COPY_BATCH):
        rows = {name: [] for name in tables}
        for k, at in enumerate(dues[first:first + COPY_BATCH]):
            models[(first + k) % len(models)].copy(next_id, at, rows)
            next_id += 1
        conn = db.session.connection()
        for name, table in tables.items():
            conn.execute(insert(table), rows[name])
        db.session.commit()
    for instance_id, at in ((next_id - len(dues), dues[0]), (next_id - 1, dues[-1])):
        verify_waiting(instance_id, at)
    if not is_sqlite():  # ids were given explicitly: move the sequence past them
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('instance', 'id'), (SELECT max(id) FROM "
                                "instance))"))
        db.session.commit()


def verify_waiting(instance_id: int, at: datetime) -> None:
    """The instance loads as a workflow waiting on one timer: its Timer row's task, due at ``at``."""
    store = steps.store()
    workflow = store.load(store.lock(instance_id)).workflow
    waiting = [(view.id, view.timer_due) for view in map(engine.view, workflow.tasks.values()) if view.timer_due]
    row = db.session.execute(select(TIMERS.c.id, TIMERS.c.due_at).where(TIMERS.c.instance_id == instance_id)).one()
    db.session.rollback()
    if waiting != [(row.id, at)] or row.due_at != at:
        raise RuntimeError(f"instance {instance_id}: engine waits on {waiting}, Timer row {tuple(row)}, "
                           f"expected due {at}")


# --------------------------------------------------------------------------- idle sweep

SWEEP_PARTS = ("claim", "fire_due", "deliver_pending", "next_due", "sweep")


def measure_sweep(reps: int) -> dict[str, Timings]:
    """The database work of a scheduler run while nothing is due."""
    parts = {name: Timings() for name in SWEEP_PARTS}
    for i in range(reps + WARMUP):
        t0 = time.perf_counter()
        db.session.connection()
        found = firing._claim(now(), set())
        db.session.rollback()
        t1 = time.perf_counter()
        fired = firing.fire_due()
        t2 = time.perf_counter()
        notify.deliver_pending()
        t3 = time.perf_counter()
        firing.next_due()
        db.session.rollback()
        t4 = time.perf_counter()
        if found is not None or fired:
            raise RuntimeError("a timer was due during the idle-sweep measurement")
        if i >= WARMUP:
            for name, seconds in zip(SWEEP_PARTS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t1), strict=True):
                parts[name].add(seconds)
    return parts


@contextmanager
def captured():
    """The SQL and parameters the driver receives while inside."""
    seen: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)


def explain(statement: str, parameters) -> list[str]:
    conn = db.session.connection()
    try:
        if is_sqlite():
            return [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
        return [row[0] for row in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " + statement,
                                                       parameters)]
    finally:
        db.session.rollback()


def query_plans() -> dict[str, dict]:
    with captured() as next_due:
        firing.next_due()
        db.session.rollback()
    plans = {}
    for name, (statement, parameters) in (("claim", _compiled.statement(firing.claim_statement(), {"now": now()})),
                                          ("next_due", next_due[-1])):
        plans[name] = {"sql": " ".join(statement.split()), "plan": explain(statement, parameters)}
    return plans


# --------------------------------------------------------------------------- firing

def run_window(app, seeded: Seeded, patience: float) -> dict:
    """Run the real scheduler through the window until every timer in it has fired (or patience ends)."""
    scheduler = TimerScheduler(app)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    scheduler.start()
    deadline = seeded.window_end + timedelta(seconds=patience)
    left = len(seeded.due_at)
    try:
        while now() < deadline and (left or now() < seeded.window_end):
            time.sleep(0.5)
            left = db.session.scalar(select(func.count()).select_from(TIMERS)
                                     .where(TIMERS.c.due_at < seeded.window_end))
            db.session.rollback()
    finally:
        scheduler.shutdown()
    figures = firing_figures(seeded)
    wall = time.perf_counter() - wall0
    figures["process_cpu_share"] = round((time.process_time() - cpu0) / wall, 3)  # of one core, this process
    return figures


def firing_figures(seeded: Seeded) -> dict:
    rows = db.session.execute(select(EVENTS.c.instance_id, EVENTS.c.at, EVENTS.c.data)
                              .where(EVENTS.c.kind == "timers_fired")).all()
    db.session.rollback()
    lag, fired, strays, last = Timings(), Counter(), 0, None
    for instance_id, at, data in rows:
        due = seeded.due_at.get(instance_id)
        if due is None:
            strays += 1
            continue
        fired[instance_id] += len((data or {}).get("timers", []))
        lag.add((at - due).total_seconds())
        last = at if last is None or at > last else last
    span = (last - seeded.window_start).total_seconds() if last else float("nan")
    return {"due": len(seeded.due_at), "fired": len(fired), "missing": len(seeded.due_at) - len(fired),
            "not_once": sum(1 for count in fired.values() if count != 1), "early": sum(1 for ms in lag.ms if ms < 0),
            "strays": strays, "lag": lag.summary(), "span_s": round(span, 3),
            "per_s": round(len(fired) / span, 1) if last else 0.0}


def run_burst(url: str, args, version_id: int) -> dict:
    """``burst`` instances due at one moment a day ahead, the clock moved past it, drained twice over:
    by one ``fire_due()`` in one thread, and by the scheduler's ``fire()`` with its workers (threads on
    PostgreSQL, ``POLKU_TIMER_WORKERS``), each on its own set of instances, one after the other."""
    return {"one_thread": _burst(url, args, version_id, _one_thread),
            "workers": _burst(url, args, version_id, _with_workers)}


def _one_thread(app) -> tuple[int, int]:
    return firing.fire_due(), 1


def _with_workers(app) -> tuple[int, int]:
    scheduler = TimerScheduler(app)
    try:
        return scheduler.fire(), 1 + scheduler.helpers
    finally:
        scheduler.shutdown()


def _burst(url: str, args, version_id: int, drain) -> dict:
    with app_context(url, args.sweep):
        version = db.session.get(PathwayVersion, version_id)
        at = (now() + BURST_AHEAD).replace(microsecond=0)
        ids = {start_one(version, at, Timings()) for _ in range(args.burst)}
    with app_context(url, args.sweep) as app:
        CLOCK.set(at + timedelta(seconds=1))
        try:
            t0, cpu0 = time.perf_counter(), time.process_time()
            fired, threads = drain(app)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        finally:
            CLOCK.release()
        left = db.session.scalar(select(func.count()).select_from(TIMERS).where(TIMERS.c.instance_id.in_(ids)))
        db.session.rollback()
    return {"timers": args.burst, "fired": fired, "left": left, "seconds": round(wall, 3), "threads": threads,
            "per_s": round(fired / wall, 1) if wall else 0.0, "ms_per_firing": round(wall * 1000 / max(fired, 1), 3),
            "process_cpu_ms_per_firing": round(cpu * 1000 / max(fired, 1), 3)}


# --------------------------------------------------------------------------- one case

def run_case(kind: str, n: int, args, tmp: Path, tally: LogTally) -> dict:
    print(f"\n{kind}, {n:,} pending timers ({min(args.due, n):,} due within {args.window:g} s) ...", flush=True)
    load, speed = [round(os.getloadavg()[0], 2)], machine_speed_ms()
    url = fresh_database(kind, tmp, n)
    with app_context(url, args.sweep):
        seeded = seed(n, args)
    print(f"  seeded in {seeded.seed_s:.1f} s: {len(seeded.start.ms):,} started (steps.start p50 "
          f"{seeded.start.percentile(50):.2f} ms), {seeded.copied:,} copied in {seeded.copy_s:.1f} s, "
          f"{seeded.cancelled} model instances cancelled", flush=True)
    with app_context(url, args.sweep) as app:
        sweep = measure_sweep(args.sweep_reps)
        plans = query_plans()
        print(f"  idle sweep p50 {sweep['sweep'].percentile(50):.3f} ms over {len(sweep['sweep'].ms)} runs", flush=True)
        open_window(seeded, args.window)
        print(f"  window opened in {seeded.open_s:.1f} s: first due {seeded.window_start:%H:%M:%S}", flush=True)
        window = run_window(app, seeded, args.patience)
    load.append(round(os.getloadavg()[0], 2))
    print(f"  window: {window['fired']:,}/{window['due']:,} fired, lag p50 {window['lag'].get('p50_ms', 0):.1f} ms "
          f"p99 {window['lag'].get('p99_ms', 0):.1f} ms; burst of {args.burst:,} ...", flush=True)
    burst = run_burst(url, args, seeded.version_id) if args.burst else {}
    load.append(round(os.getloadavg()[0], 2))
    if kind == "sqlite" and not args.keep:
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    case = {"database": kind, "pending": n, "due": len(seeded.due_at), "window_s": args.window,
            "sweep_interval_s": args.sweep, "load_average_1m": load,
            "seeding": {"seconds": round(seeded.seed_s, 1), "started": len(seeded.start.ms),
                        "steps_start": seeded.start.summary(), "copied": seeded.copied,
                        "copy_s": round(seeded.copy_s, 2), "cancelled": seeded.cancelled,
                        "open_window_s": round(seeded.open_s, 2), "late_s": round(seeded.late_s, 3)},
            "idle_sweep": {name: series.summary() for name, series in sweep.items()},
            "plans": plans, "window": window, "burst": burst, "log": tally.take(),
            "machine_speed_ms": [speed, machine_speed_ms()]}
    print_case(case)
    return case


# --------------------------------------------------------------------------- report

def uses_index(plan: list[str]) -> bool:
    return any(DUE_INDEX in line for line in plan)


def case_checks(case: dict) -> list[Check]:
    label = f"{case['database']} N={case['pending']:,}"
    w, found = case["window"], []
    p99 = w["lag"].get("p99_ms", float("inf"))
    found.append(Check(f"{label}: firing lag p99 <= {LAG_TARGET_MS:g} ms ({w['due']:,} due within "
                       f"{case['window_s']:g} s)", p99 <= LAG_TARGET_MS, f"{p99:.1f} ms"))
    problems = {k: w[k] for k in ("missing", "not_once", "early", "strays") if w[k]}
    problems.update({k: v["count"] for k, v in case["log"].items()})
    for name, burst in (case["burst"] or {}).items():
        if burst["fired"] != burst["timers"] or burst["left"]:
            problems[f"burst_{name}_unfired"] = burst["timers"] - burst["fired"]
    found.append(Check(f"{label}: each due timer fired once, none early, nothing else, no warnings, no skipped runs",
                       not problems, json.dumps(problems) if problems else "all fired once"))
    claim_plan = case["plans"]["claim"]["plan"]
    found.append(Check(f"{label}: claim query plan uses {DUE_INDEX}", uses_index(claim_plan),
                       "yes" if uses_index(claim_plan) else "no: " + " | ".join(claim_plan)))
    return found


def flat_checks(cases: list[dict]) -> list[Check]:
    found = []
    for kind in sorted({c["database"] for c in cases}):
        mine = sorted((c for c in cases if c["database"] == kind), key=lambda c: c["pending"])
        if len(mine) < 2:
            continue
        small, large = mine[0], mine[-1]
        for part in ("claim", "sweep"):
            a = small["idle_sweep"][part].get("p50_ms", float("nan"))
            b = large["idle_sweep"][part].get("p50_ms", float("nan"))
            limit = FLAT_FACTOR * a + FLAT_SLACK_MS
            found.append(Check(f"{kind}: idle {part} p50 flat from N={small['pending']:,} to N={large['pending']:,}",
                               b <= limit, f"{a:.3f} -> {b:.3f} ms (limit {limit:.3f} ms, x{b / a:.2f})"))
    return found


def print_case(case: dict) -> None:
    print(f"\n== {case['database']}, {case['pending']:,} pending timers: {case['due']:,} due within "
          f"{case['window_s']:g} s, sweep every {case['sweep_interval_s']:g} s ==")
    print(f"  {'idle (nothing due)':<34} {'n':>6} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    labels = {"claim": "claim query (own transaction)", "fire_due": "firing.fire_due()",
              "deliver_pending": "notify.deliver_pending()", "next_due": "firing.next_due()",
              "sweep": "whole sweep (the three above)"}
    for name, label in labels.items():
        s = case["idle_sweep"][name]
        if s.get("n"):
            print(f"  {label:<34} {s['n']:>6} {s['p50_ms']:>9.3f} {s['p95_ms']:>9.3f} {s['p99_ms']:>9.3f} "
                  f"{s['max_ms']:>9.3f}")
    s = case["seeding"]["steps_start"]
    print(f"  {'steps.start (seeding)':<34} {s['n']:>6} {s['p50_ms']:>9.3f} {s['p95_ms']:>9.3f} {s['p99_ms']:>9.3f} "
          f"{s['max_ms']:>9.3f}")
    w, lag = case["window"], case["window"]["lag"]
    if lag.get("n"):
        print(f"  {'firing lag (due -> step commit)':<34} {lag['n']:>6} {lag['p50_ms']:>9.1f} {lag['p95_ms']:>9.1f} "
              f"{lag['p99_ms']:>9.1f} {lag['max_ms']:>9.1f}")
    print(f"  window: {w['fired']:,} of {w['due']:,} fired, last {w['span_s']:.1f} s after the first was due: "
          f"{w['per_s']:.1f} fired/s (arrival rate {w['due'] / case['window_s']:.1f}/s); this process used "
          f"{w['process_cpu_share']:.0%} of a core")
    for name, b in (case["burst"] or {}).items():
        how = "one fire_due() in one thread" if name == "one_thread" else f"the scheduler's {b['threads']} thread(s)"
        print(f"  burst: {b['fired']:,} of {b['timers']:,} due at once fired by {how} in "
              f"{b['seconds']:.2f} s: {b['per_s']:.1f} fired/s ({b['ms_per_firing']:.2f} ms each, "
              f"{b['process_cpu_ms_per_firing']:.2f} ms CPU in this process per firing)")
    print(f"  machine speed reference (figures.machine_speed_ms, lower is faster) at start / end: "
          f"{' / '.join(str(x) for x in case['machine_speed_ms'])} ms")
    seeding = case["seeding"]
    print(f"  seeding {seeding['seconds']:.0f} s ({seeding['copied']:,} copied in {seeding['copy_s']:.1f} s), "
          f"window opened in {seeding['open_window_s']:.1f} s, {seeding['late_s']:.1f} s late; "
          f"load average (1 min) at start / after window / after burst: "
          f"{' / '.join(str(x) for x in case['load_average_1m'])} on {os.cpu_count()} CPUs")
    for name, found in case["plans"].items():
        print(f"  plan of {name}: {found['sql']}")
        for line in found["plan"]:
            print(f"      {line}")
    for key, value in case["log"].items():
        print(f"  log {key} x{value['count']}: {value['first']}")


def skipped_runs(case: dict) -> int:
    return sum(v["count"] for k, v in case["log"].items() if k.startswith("apscheduler"))


def print_summary(cases: list[dict], found: list[Check]) -> None:
    print("\n" + "=" * 127)
    print(f"  {'database':<11} {'pending':>8} {'claim p50':>10} {'sweep p50':>10} {'next_due p50':>13} "
          f"{'lag p50':>9} {'lag p99':>9} {'lag max':>9} {'window/s':>9} {'burst/s':>9} {'burst/s':>9} "
          f"{'skipped':>8}")
    print(f"  {'':<11} {'':>8} {'ms':>10} {'ms':>10} {'ms':>13} {'ms':>9} {'ms':>9} {'ms':>9} {'':>9} "
          f"{'1 thread':>9} {'workers':>9}")
    print("-" * 127)
    for c in cases:
        idle, lag, b = c["idle_sweep"], c["window"]["lag"], c["burst"] or {}
        one, workers = b.get("one_thread", {}), b.get("workers", {})
        print(f"  {c['database']:<11} {c['pending']:>8,} {idle['claim'].get('p50_ms', 0):>10.3f} "
              f"{idle['sweep'].get('p50_ms', 0):>10.3f} {idle['next_due'].get('p50_ms', 0):>13.3f} "
              f"{lag.get('p50_ms', 0):>9.1f} {lag.get('p99_ms', 0):>9.1f} {lag.get('max_ms', 0):>9.1f} "
              f"{c['window']['per_s']:>9.1f} {one.get('per_s', 0):>9.1f} {workers.get('per_s', 0):>9.1f} "
              f"{skipped_runs(c):>8}")
    print("-" * 127)
    print("  skipped: scheduler runs APScheduler skipped because the previous run of the same job was still going")
    print("Targets:")
    for check in found:
        print(check.line())
    missed = [c for c in found if not c.holds]
    print("ALL TARGETS MET" if not missed else f"MISSED {len(missed)} of {len(found)} target(s)")
    print("=" * 127)


# --------------------------------------------------------------------------- main

def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="sqlite",
                        help="PostgreSQL is POLKU_TEST_DATABASE_URL (see .ci/with-postgres); default sqlite")
    parser.add_argument("--sizes", default="10000,100000", help="pending timers per run, comma-separated")
    parser.add_argument("--due", type=int, default=10_000, help="how many of them fall due in the window")
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which they fall due (default 60)")
    parser.add_argument("--sweep", type=float, default=1.0, help="POLKU_TIMER_SWEEP_SECONDS (default 1)")
    parser.add_argument("--burst", type=int, default=2000,
                        help="timers due at one moment, drained by one thread and again by the scheduler's workers")
    parser.add_argument("--sweep-reps", type=int, default=500, help="idle sweeps to time (fewer if time runs out)")
    parser.add_argument("--patience", type=float, default=120.0,
                        help="seconds after the window to wait for stragglers (default 120)")
    parser.add_argument("--no-copy", action="store_true", help="start every far-future instance with steps.start")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite databases")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    args.sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    args.databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    if "postgresql" in args.databases and not os.environ.get("POLKU_TEST_DATABASE_URL", "").startswith("postgresql"):
        parser.error("PostgreSQL needs POLKU_TEST_DATABASE_URL (a postgresql+psycopg URL); run under "
                     ".ci/with-postgres, e.g. .ci/with-postgres .venv/bin/python benchmarks/firing.py --database both")
    if min(args.sizes) < 1 or args.due < 1:
        parser.error("--sizes and --due must be positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    tally = LogTally()
    logging.basicConfig(level=logging.WARNING, handlers=[tally])
    tmp = Path(tempfile.mkdtemp(prefix="polku-timers-"))
    began = time.perf_counter()
    try:
        cases = [run_case(kind, n, args, tmp, tally) for kind in args.databases for n in args.sizes]
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    found = [check for case in cases for check in case_checks(case)] + flat_checks(cases)
    print(f"\nTotal {time.perf_counter() - began:.0f} s")
    print_summary(cases, found)
    result = {"cases": cases, "targets": [{"name": c.name, "holds": c.holds, "detail": c.detail} for c in found],
              "all_met": all(c.holds for c in found)}
    print("RESULT " + json.dumps(result, default=str))
    return 1 if args.strict and not result["all_met"] else 0


if __name__ == "__main__":
    sys.exit(main())
