"""APScheduler as the in-process alarm clock; the database decides what fires.

Each server process runs its own BackgroundScheduler with an in-memory job store (APScheduler's
stores must not be shared between processes). Two jobs: a sweep on a short interval, which also
runs at start-up to catch up on timers that fell due while the service was down, and a wake-up
armed at the earliest due time and re-armed when a step sets an earlier timer. Both fire due
timers through ``firing.fire_due`` and then deliver notifications and send the outbox. When a run finds a backlog on
PostgreSQL, ``POLKU_TIMER_WORKERS`` threads drain it together (``SKIP LOCKED`` keeps their
claims apart), so one firing's wait on the database overlaps another's engine work.
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from ..clock import now
from ..extensions import db
from . import firing, notify, outbox

log = logging.getLogger(__name__)
SWEEP, WAKE = "polku-timer-sweep", "polku-timer-wake"
# The engine fires a timer once its due time has passed: wake just after it.
WAKE_MARGIN = timedelta(milliseconds=5)
LOOKAHEAD = timedelta(milliseconds=100)


class TimerScheduler:
    def __init__(self, app: Flask):
        self.app = app
        self.scheduler = BackgroundScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1,
                                                                         "misfire_grace_time": None})
        self._run_lock = threading.Lock()
        self._wanted = threading.Event()  # a run was asked for while one was going
        self._armed: datetime | None = None
        with app.app_context():
            parallel = db.engine.dialect.name == "postgresql"  # SQLite lets one transaction write at a time
        self.helpers = max(app.config["POLKU_TIMER_WORKERS"], 1) - 1 if parallel else 0
        self._pool = ThreadPoolExecutor(self.helpers, thread_name_prefix="polku-timers") if self.helpers else None

    def start(self) -> None:
        self.scheduler.add_job(self.run, "interval", seconds=self.app.config["POLKU_TIMER_SWEEP_SECONDS"], id=SWEEP,
                               name="fire due timers (sweep)", next_run_time=datetime.now(UTC))
        self.app.extensions.setdefault("polku_after_step", []).append(self.after_step)
        self.scheduler.start()
        log.info("timer scheduler started (sweep every %s s)", self.app.config["POLKU_TIMER_SWEEP_SECONDS"])

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def run(self) -> None:
        """Fire everything due, deliver notifications, arm the wake-up for the next due timer.

        One run at a time. A run that finds another going does not wait for it (a job waiting on the
        lock makes APScheduler skip that job's next times): it asks the one going to look once more.
        """
        self._wanted.set()
        while self._wanted.is_set() and self._run_lock.acquire(blocking=False):
            try:
                self._wanted.clear()
                with self.app.app_context():
                    due = self._run_once()
                if not self._wanted.is_set():  # else the next pass arms, after its own work
                    self.arm(due)
            finally:
                self._run_lock.release()

    def _run_once(self) -> datetime | None:
        """Fire until nothing falls due within the look-ahead; returns when the next timer does."""
        while True:
            began = now()
            fired = self.fire() + firing.end_overdue()
            if fired:
                log.info("fired the timers of %d instance(s)", fired)
            notify.deliver_pending()
            try:
                for job in self.app.extensions.get("polku_each_run", ()):  # what writes to the outbox by the clock
                    job(began)
                outbox.send_due()
            except Exception:  # noqa: BLE001 - the outbox's trouble must not stop the timers; it is tried again
                log.exception("sending the outbox failed; it is tried again at the next run")
            due = firing.next_due()
            # A wake-up armed for a moment this run outlasts would be skipped as "already running":
            # fire what falls due meanwhile here instead.
            if self._wanted.is_set() or (fired and due is not None and due <= now() + LOOKAHEAD):
                self._wanted.clear()
                continue
            if not fired and due is not None and due < began:
                # Due before this pass claimed, yet not fired: another process holds it, or its step
                # failed and waits for the sweep. Waking at once for it would only spin.
                return None
            return due

    def fire(self) -> int:
        """Fire everything due; returns the steps run. An idle run costs one claim, as without helpers."""
        skip = set()  # instances left for the next run, shared (a set's add and copy are atomic)
        fired = firing.fire_due(limit=1 if self.helpers else None, skip=skip)
        if fired and self.helpers:  # a backlog: drain it together
            helping = [self._pool.submit(self._fire_in_own_context, skip) for _ in range(self.helpers)]
            fired += firing.fire_due(skip=skip) + sum(job.result() for job in helping)
        return fired

    def _fire_in_own_context(self, skip: set[int]) -> int:
        with self.app.app_context():  # its own session, so its own connection and transaction
            return firing.fire_due(skip=skip)

    def arm(self, due: datetime | None) -> None:
        self._armed = due
        if due is None:
            return
        at = max(due + WAKE_MARGIN, now())
        self.scheduler.add_job(self.run, "date", run_date=at, id=WAKE, name="fire due timers (wake-up)",
                               replace_existing=True)

    def after_step(self, projected) -> None:
        """A step set an earlier timer, or wrote notifications: come back for them in time."""
        due = now() if projected.notified else projected.earliest_new_timer
        if due is None:
            return
        if self._run_lock.locked():  # the run going on (maybe this very step's) looks again before it ends
            self._wanted.set()
        elif self._armed is None or due < self._armed:
            self.arm(due)


def start(app: Flask) -> TimerScheduler:
    scheduler = app.extensions["polku_scheduler"] = TimerScheduler(app)
    scheduler.start()
    return scheduler
