"""Run a pathway on a simulated clock with scripted answers, on a throwaway database.

A designer sees a 12-week pathway's timeline — every task, timer, reminder and message with its
simulated date — in seconds, before any client does. The live database is never touched: the run
uses a fresh SQLite file in a temporary folder and the same step code as the service, on a clock of
its own (``CLOCK.scoped``), so a run inside the service stops nobody else's time. Deploy runs a
package's scenarios through the same driver (``tools/scenarios.py``).

The answers file (JSON)::

    {"start": "2026-01-05T09:00:00+02:00",            # optional; default: next Monday 09:00
     "client_id": "asiakas-1", "variables": {...},      # optional
     "tasks": {"esitietolomake": {"oireet": "..."},      # answers by task id; a list answers repeats
               "mittaus": [{"arvo": 120}, null, {"arvo": 118}]},  # null: that time it is left unanswered
     "delays": {"esitietolomake": "P4D"},               # optional: how long after opening to answer
     "messages": [{"after": "P5D", "name": "lab_result_ready", "payload": {...}}]}

A task without scripted answers stays open (the timeline says so).
"""

import json
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select

from .. import engine
from ..clock import CLOCK
from ..core import firing, queries, steps
from ..core.answers import InvalidAnswers
from ..core.refusal import Refused
from ..extensions import api, db
from ..models import Event, HumanTask, Instance, Notification, PathwayVersion, Timer
from . import deploy

_BUILDING = threading.Lock()
TICK = timedelta(milliseconds=1)  # a timer fires once its due time has passed
ORDER = {"started": 0, "timer fired": 1, "message": 1, "task completed": 2, "task missed": 2, "reminder": 2,
         "notice": 2, "task opened": 3, "pathway ended": 4}


class ScriptInvalid(ValueError):
    """The answers file cannot drive a simulation; the message names the field."""


@dataclass
class Script:
    start: datetime
    tasks: dict = field(default_factory=dict)
    delays: dict = field(default_factory=dict)
    messages: list = field(default_factory=list)
    variables: dict = field(default_factory=dict)
    client_id: str | None = None

    @classmethod
    def load(cls, path: Path, zone: str) -> "Script":
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ScriptInvalid(f"{path}: cannot be read as JSON: {exc}") from None
        try:
            return cls.from_dict(raw, zone)
        except ScriptInvalid as exc:
            raise ScriptInvalid(f"{path}: {exc}") from None

    @classmethod
    def from_dict(cls, raw, zone: str) -> "Script":
        """A script from the answers format's JSON object; ScriptInvalid names the field that is wrong."""
        if not isinstance(raw, dict):
            raise ScriptInvalid("expected a JSON object with 'tasks', 'delays', 'messages'")
        for name, kind in (("tasks", dict), ("delays", dict), ("variables", dict), ("messages", list)):
            if not isinstance(raw.get(name, kind()), kind):
                raise ScriptInvalid(f"'{name}' must be a JSON {'object' if kind is dict else 'list'}")
        try:
            start = start_of(zone, raw.get("start"))
        except (TypeError, ValueError) as exc:
            raise ScriptInvalid(f"start: '{raw.get('start')}' is not a date and time such as "
                                f"\"2026-01-05T09:00\" ({exc})") from None
        try:
            return cls(start=start, tasks=dict(raw.get("tasks") or {}),
                       delays={k: _duration(v, f"delays.{k}") for k, v in (raw.get("delays") or {}).items()},
                       messages=[_message(m, i) for i, m in enumerate(raw.get("messages") or [])],
                       variables=dict(raw.get("variables") or {}), client_id=raw.get("client_id"))
        except (TypeError, ValueError) as exc:
            raise ScriptInvalid(str(exc)) from None

    def answers(self, spec: str, round_: int) -> dict | None:
        found = self.tasks.get(spec)
        if isinstance(found, list):
            return found[round_] if round_ < len(found) else None
        return found


def start_of(zone: str, value: str | None = None) -> datetime:
    """The simulation's start: the given time (read in ``zone`` without one), else next Monday 09:00."""
    if value is None:
        local = datetime.now(ZoneInfo(zone)).replace(hour=9, minute=0, second=0, microsecond=0)
        return (local + timedelta(days=(7 - local.weekday()) % 7 or 7)).astimezone(UTC)
    start = datetime.fromisoformat(value)
    return (start if start.tzinfo else start.replace(tzinfo=ZoneInfo(zone))).astimezone(UTC)


def _duration(value, name: str) -> timedelta:
    if not isinstance(value, str) or engine.timers.check_literal("duration", value):
        raise ValueError(f"{name}: '{value}' is not an ISO-8601 duration such as \"P3D\"")
    at = datetime(2000, 1, 1, tzinfo=UTC)
    return engine.runtime.due_after(at, value) - at


def _message(item, index: int) -> dict:
    if not isinstance(item, dict) or not item.get("name"):
        raise ValueError(f"messages[{index}]: needs a 'name' (and 'after', 'payload')")
    return {"after": _duration(item.get("after", "PT0S"), f"messages[{index}].after"), "name": item["name"],
            "payload": item.get("payload") or {}, "index": index}


@dataclass
class Line:
    at: datetime
    what: str
    detail: str = ""


def run(app_factory, package_dir: Path, forms_dir: Path, script: Script, days: int) -> list[Line]:
    """Simulate one instance for ``days``; returns its timeline."""
    with throwaway(app_factory, script.start):
        [deployed] = deploy.deploy([deploy.from_dir(package_dir, forms_dir)], "simulation", scenarios=False)
        end = script.start + timedelta(days=days)
        return timeline(drive(deployed.version, script, end), end)


def app_like(config) -> Callable[[str], Flask]:
    """A factory of apps like the one of ``config`` on another database, without a scheduler. Building an app
    binds the shared API object (its spec, its app) to it: one is built at a time, and the API is given back to
    the app it served, so that a deploy inside the service leaves the service's own API as it was."""
    from .. import create_app

    def factory(database_url: str) -> Flask:
        values = {k: v for k, v in config.items() if k.isupper()}
        values.update(SQLALCHEMY_DATABASE_URI=database_url, SQLALCHEMY_ENGINE_OPTIONS={}, POLKU_SCHEDULER="off")
        with _BUILDING:
            kept = dict(vars(api))
            try:
                return create_app(type("SimulationConfig", (), values))
            finally:
                vars(api).update(kept)
    return factory


@contextmanager
def throwaway(app_factory, start: datetime) -> Iterator[Flask]:
    """An app from ``app_factory`` on a fresh SQLite file, its context pushed and its clock scoped at ``start``:
    what runs within touches neither the live database nor anybody else's time."""
    with tempfile.TemporaryDirectory(prefix="polku-sim-") as tmp:
        app: Flask = app_factory(f"sqlite:///{Path(tmp) / 'simulation.db'}")
        try:
            with CLOCK.scoped(start), app.app_context():
                db.create_all()
                yield app
        finally:
            with app.app_context():
                db.engine.dispose()


class _Rounds:
    """Which time of its task id each open task is (0 the first), in the order the driver first saw them open:
    the index into a list of scripted answers."""

    def __init__(self):
        self.of: dict[str, int] = {}
        self.count: dict[str, int] = {}

    def see(self, tasks: list[HumanTask]) -> list[HumanTask]:
        for task in sorted(tasks, key=lambda t: (t.created_at, t.id)):
            if task.id not in self.of:
                self.of[task.id] = self.count.get(task.spec, 0)
                self.count[task.spec] = self.of[task.id] + 1
        return tasks


def drive(version: PathwayVersion, script: Script, end: datetime) -> int:
    """Start one instance of ``version`` at the script's start and play the script until ``end`` or until the
    instance stops running; returns its id. Runs inside ``throwaway``."""
    CLOCK.set(script.start)
    modules = {name: True for name in (version.settings or {}).get("modules") or {}}  # on, as offered
    instance = steps.start(version, "simulation", {**modules, **script.variables}, None, script.client_id)
    pending = sorted(script.messages, key=lambda m: m["after"])
    rounds = _Rounds()
    while True:
        _answer_due(instance.id, script, rounds)
        while pending and script.start + pending[0]["after"] <= CLOCK.now():
            _deliver(instance.id, pending.pop(0))
        status = queries.instance_or_404(instance.id).status
        upcoming = [t for t in (firing.next_due(), _next_answer(instance.id, script, rounds),
                                pending and script.start + pending[0]["after"]) if t]
        if status != "running" or not upcoming or min(upcoming) > end:
            break
        CLOCK.set(max(min(upcoming) + TICK, CLOCK.now()))
        firing.fire_due()
        firing.end_overdue()
        db.session.rollback()
    return instance.id


def _deliver(instance_id: int, message: dict) -> None:
    try:
        steps.deliver(instance_id, message["name"], message["payload"], "simulation")
    except Refused as exc:
        raise ScriptInvalid(f"messages[{message['index']}]: '{message['name']}' could not be delivered: "
                            f"{exc.message}") from None


def _open(instance_id: int, rounds: _Rounds) -> list[HumanTask]:
    db.session.rollback()
    return rounds.see(list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                                      HumanTask.state == "open"))))


def _answer_due(instance_id: int, script: Script, rounds: _Rounds) -> None:
    for task in _open(instance_id, rounds):
        answers = script.answers(task.spec, rounds.of[task.id])
        if answers is None or task.created_at + script.delays.get(task.spec, timedelta(0)) > CLOCK.now():
            continue
        try:
            steps.complete(task.id, answers, "simulation")
        except InvalidAnswers as exc:
            problems = "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors)
            raise ScriptInvalid(f"tasks.{task.spec}: the answers do not fit the form ({problems})") from None
        except Refused:
            continue  # closed meanwhile by the step of an answer just given


def _next_answer(instance_id: int, script: Script, rounds: _Rounds) -> datetime | None:
    times = [t.created_at + script.delays.get(t.spec, timedelta(0)) for t in _open(instance_id, rounds)
             if script.answers(t.spec, rounds.of[t.id]) is not None]
    return min(times, default=None)


def timeline(instance_id: int, end: datetime) -> list[Line]:
    lines = []
    for task in db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)):
        lines.append(Line(task.created_at, "task opened", f"{task.spec} \"{task.title}\" ({task.role or '-'})"))
        if task.state == "open":
            lines.append(Line(end, "task still open", f"{task.spec} (no answer scripted)"))
        elif task.state == "missed":
            lines.append(Line(task.completed_at, "task missed", f"{task.spec} (its time ran out)"))
    for event in db.session.scalars(select(Event).where(Event.instance_id == instance_id)):
        lines += _event_lines(event)
    for note in db.session.scalars(select(Notification).where(Notification.instance_id == instance_id)):
        to = " ".join(filter(None, (note.audience, note.recipient)))
        lines.append(Line(note.created_at, note.kind, f"to {to}: {note.text}"))
    for timer in db.session.scalars(select(Timer).where(Timer.instance_id == instance_id)):
        lines.append(Line(timer.due_at, "timer waiting", f"{timer.spec} (due after the simulated days)"))
    instance = db.session.get(Instance, instance_id)
    if instance.ended_at is not None:
        lines.append(Line(instance.ended_at, "pathway ended", instance.status))
    return sorted(lines, key=lambda line: (line.at, ORDER.get(line.what, 2)))


def _event_lines(event: Event) -> list[Line]:
    data = event.data or {}
    found = [Line(event.at, "timer fired", t["spec"]) for t in data.get("timers", [])]
    if event.kind == "task_completed":
        answers = json.dumps(data.get("answers"), ensure_ascii=False)
        found.append(Line(event.at, "task completed", f"{event.spec} {answers}"))
    elif event.kind == "message_delivered":
        found.append(Line(event.at, "message", event.spec or ""))
    elif event.kind == "started":
        found.append(Line(event.at, "started", ""))
    elif event.kind in ("duration_ended", "consent_withdrawn", "cancelled", "ended_by_team"):
        found.append(Line(event.at, event.kind.replace("_", " "), (data.get("reason") or "")))
    if data.get("incident"):
        found.append(Line(event.at, "INCIDENT", f"{data['incident']['element']}: {data['incident']['message']}"))
    return found


def format_timeline(lines: list[Line], start: datetime, zone: str) -> str:
    tz = ZoneInfo(zone)
    out = []
    for line in lines:
        local = line.at.astimezone(tz)
        day = (local.date() - start.astimezone(tz).date()).days  # the pathway's day, as its clock shows it
        out.append(f"day {day:>3}  {local:%a %Y-%m-%d %H:%M}  {line.what:<15} {line.detail}".rstrip())
    return "\n".join(out)
