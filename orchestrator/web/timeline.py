"""What a pathway page shows: what is done, what is open, and what comes next and when."""

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app

from .. import queries
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
