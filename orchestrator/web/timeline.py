"""What a pathway page shows: what is done or missed, what is open, and what comes next and when.

Times are the pathway's: its zone (the service's when it names none) counts the phases and says "today" and
"tomorrow" on the page.
"""

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _

from .. import engine
from ..care import diaries, observations
from ..care.answer_words import Answer, in_words
from ..clock import now
from ..core import queries
from ..core.answers import form_of
from ..core.store import store
from ..models import HumanTask, Instance
from . import adherence
from .adherence import Adherence


@dataclass
class Phase:
    name: str
    starts: datetime
    current: bool = False


@dataclass(frozen=True)
class Upcoming:
    at: datetime
    what: str  # what happens then, as the people on the pathway say it
    in_pathway_words: bool = True  # the pathway's own text (a timer's description), not the service's


@dataclass
class Timeline:
    instance: Instance
    name: str
    zone: str
    past: list[HumanTask] = field(default_factory=list)  # completed and missed, in the order they opened
    open: list[HumanTask] = field(default_factory=list)
    upcoming: list[Upcoming] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    adherence: list[Adherence] = field(default_factory=list)
    series: list[observations.Series] = field(default_factory=list)
    diary_days: list = field(default_factory=list)  # (day, [(entry, labelled answers)]) oldest first
    measurements: list[str] = field(default_factory=list)  # kinds the client may also enter freely

    @property
    def missed(self) -> int:
        return sum(1 for task in self.past if task.state == "missed")


def of(instance: Instance) -> Timeline:
    info = store().info(instance.version_id)
    settings = info.settings or {}
    zone = info.time_zone or current_app.config["POLKU_TIME_ZONE"]
    every = queries.instance_human_tasks(instance.id)
    found = Timeline(instance, instance.version.name, zone,
                     past=[t for t in every if t.state in ("completed", "missed")],
                     open=[t for t in every if t.state == "open"],
                     phases=phases(instance, settings.get("phases") or [], zone),
                     adherence=adherence.of(every, info.task_meta),
                     series=observations.series(instance.id, settings.get("targets") or {}),
                     measurements=list(settings.get("measurements") or []))
    if instance.active:
        found.upcoming = upcoming(instance, info.task_meta, {t.spec for t in found.open})
    by_id = {t.id: t for t in every}
    found.diary_days = [(day, [(entry, labelled(by_id[entry.task_id], entry.data)) for entry in entries])
                        for day, entries in diaries.by_day(diaries.entries(instance.id), zone)]
    return found


def upcoming(instance: Instance, task_meta: dict, open_specs: set[str]) -> list[Upcoming]:
    """The instance's waiting timers as what happens and when, soonest first, and the pathway's end.

    A timer is told by its description, else its name. Left out are a timer with neither (it means nothing to
    the reader) and one attached to a task that is open now: a reminder about that task, or its deadline, which
    the open task's own line tells with its due time. Timers that say the same thing at the same minute are one
    line (two branches that each wait a week are one "in a week" to the client).
    """
    found, seen = [], set()
    for row in queries.instance_timers(instance.id):
        meta = task_meta.get(row.spec) or {}
        what = told(meta, row.spec)
        key = (what, row.due_at.replace(second=0, microsecond=0))
        if what is None or meta.get("attached_to") in open_specs or key in seen:
            continue
        seen.add(key)
        found.append(Upcoming(row.due_at, what))
    if instance.ends_at is not None:
        found.append(Upcoming(instance.ends_at, _("The pathway ends"), in_pathway_words=False))
    return sorted(found, key=lambda item: item.at)


def told(meta: dict, spec: str) -> str | None:
    """What a timer's firing means to people: its description, else its name (a title that is only the element's
    id is no name); None when it has neither."""
    if "description" in meta:
        return (meta["description"] or "").strip() or None
    title = (meta.get("title") or "").strip()
    return title if title and title != spec else None


def phases(instance: Instance, declared: list[dict], zone: str) -> list[Phase]:
    """The pathway's phases with their dates for this client, counted in ``zone``; while the pathway goes on,
    the one going on now is marked (an ended pathway has none going on). A phase of whole days (``P1D``) begins
    with that day of the plan, as the pathway's plan-anchored timers count; one with hours, that much later."""
    found = [Phase(p["name"], phase_start(instance.created_at, p["offset"], zone)) for p in declared]
    going = [phase for phase in found if phase.starts <= now()] if instance.active else []
    if going:
        going[-1].current = True
    return found


def phase_start(started: datetime, offset: str, zone: str) -> datetime:
    if "T" in offset.upper():
        return engine.runtime.due_after(started, offset, zone)
    return max(started, engine.calendar.plan_at(started, zone, offset, "00:00"))


@dataclass
class Answered:
    title: str
    at: datetime
    answers: list[Answer]  # each question as the form asks it, with the answer in words


def answered(instance: Instance) -> list[Answered]:
    """The instance's sent answers, oldest first, each under its task's title and its form's questions."""
    tasks = {t.id: t for t in queries.instance_human_tasks(instance.id)}
    found = []
    for event in queries.answers(instance.id):
        task = tasks.get(event.task_id)
        answers = (event.data or {}).get("answers") or {}
        if task is None or not answers:
            continue
        found.append(Answered(task.title, event.at, labelled(task, answers)))
    return found


def labelled(task: HumanTask, answers: dict) -> list[Answer]:
    """Answers to the task's form in words, question by question (see ``answer_words.in_words``)."""
    return in_words(form_of(task), answers)


def sent(task: HumanTask) -> list[Answer]:
    """What was sent for a completed task, question by question."""
    event = queries.completion(task.id)
    return labelled(task, (event.data or {}).get("answers") or {}) if event else []
