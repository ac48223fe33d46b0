"""What a pathway page shows: what is done, what is open, and what comes next and when."""

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app

from .. import queries, tasks
from ..models import HumanTask, Instance


@dataclass
class Timeline:
    instance: Instance
    name: str
    done: list[HumanTask] = field(default_factory=list)
    open: list[HumanTask] = field(default_factory=list)
    upcoming: list[tuple[datetime, str]] = field(default_factory=list)


def of(instance: Instance) -> Timeline:
    info = current_app.extensions["polku_store"].info(instance.version_id)
    found = Timeline(instance, instance.version.name)
    for task in queries.instance_human_tasks(instance.id):
        if task.state == "completed":
            found.done.append(task)
        elif task.state == "open":
            found.open.append(task)
    if instance.status in ("running", "incident"):
        found.upcoming = [(row.due_at, info.task_meta.get(row.spec, {}).get("title") or row.spec)
                          for row in queries.instance_timers(instance.id)]
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
    schema = tasks.form_of(task)["form_schema"] or {}
    properties = schema.get("properties") or {}
    return [((properties.get(name) or {}).get("title") or name, value) for name, value in answers.items()]


def sent(task: HumanTask) -> list[tuple[str, object]]:
    """What was sent for a completed task, question by question."""
    event = queries.completion(task.id)
    return labelled(task, (event.data or {}).get("answers") or {}) if event else []
