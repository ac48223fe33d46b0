"""What a pathway page shows: what is done, what is open, and what comes next and when."""

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _

from .. import engine
from ..care import diaries, observations
from ..clock import now
from ..core import queries
from ..core.answers import form_of
from ..core.store import store
from ..models import HumanTask, Instance


@dataclass
class Phase:
    name: str
    starts: datetime
    current: bool = False


@dataclass
class Timeline:
    instance: Instance
    name: str
    done: list[HumanTask] = field(default_factory=list)
    open: list[HumanTask] = field(default_factory=list)
    upcoming: list[tuple[datetime, str]] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    series: list[observations.Series] = field(default_factory=list)
    diary_days: list = field(default_factory=list)  # (day, [(entry, labelled answers)]) oldest first
    measurements: list[str] = field(default_factory=list)  # kinds the client may also enter freely


def of(instance: Instance) -> Timeline:
    info = store().info(instance.version_id)
    settings = info.settings or {}
    found = Timeline(instance, instance.version.name, phases=phases(instance, settings.get("phases") or []),
                     series=observations.series(instance.id, settings.get("targets") or {}),
                     measurements=list(settings.get("measurements") or []))
    every = queries.instance_human_tasks(instance.id)
    for task in every:
        if task.state == "completed":
            found.done.append(task)
        elif task.state == "open":
            found.open.append(task)
    if instance.active:
        found.upcoming = [(row.due_at, info.task_meta.get(row.spec, {}).get("title") or row.spec)
                          for row in queries.instance_timers(instance.id)]
        if instance.ends_at is not None:
            found.upcoming.append((instance.ends_at, _("The pathway ends")))
    by_id = {t.id: t for t in every}
    found.diary_days = [(day, [(entry, labelled(by_id[entry.task_id], entry.data)) for entry in entries])
                        for day, entries in diaries.by_day(diaries.entries(instance.id),
                                                           current_app.config["POLKU_TIME_ZONE"])]
    return found


def phases(instance: Instance, declared: list[dict]) -> list[Phase]:
    """The pathway's phases with their dates for this client; the one going on now is marked."""
    found = [Phase(p["name"], engine.runtime.due_after(instance.created_at, p["offset"])) for p in declared]
    at = instance.ended_at or now()
    going = [phase for phase in found if phase.starts <= at]
    if going:
        going[-1].current = True
    return found


@dataclass
class Answered:
    title: str
    at: datetime
    answers: list[tuple[str, object]]  # (the question as the form asks it, the answer)


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


def labelled(task: HumanTask, answers: dict) -> list[tuple[str, object]]:
    schema = form_of(task)["form_schema"] or {}
    properties = schema.get("properties") or {}
    return [((properties.get(name) or {}).get("title") or name, value) for name, value in answers.items()]


def sent(task: HumanTask) -> list[tuple[str, object]]:
    """What was sent for a completed task, question by question."""
    event = queries.completion(task.id)
    return labelled(task, (event.data or {}).get("answers") or {}) if event else []
