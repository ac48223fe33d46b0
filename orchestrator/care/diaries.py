"""Diaries: a food or exercise diary task takes repeated entries until it is marked done or its phase ends."""

from collections import defaultdict
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..clock import now
from ..core.database import write
from ..extensions import db
from ..models import DiaryEntry, Event, HumanTask


def add(task: HumanTask, diary: str, data: dict, actor: str) -> DiaryEntry:
    entry = DiaryEntry(instance_id=task.instance_id, task_id=task.id, diary=diary, data=data, at=now(),
                       recorded_by=actor)
    with write():
        db.session.add(entry)
    return entry


def entries(instance_id: int, task_id: str | None = None) -> list[DiaryEntry]:
    query = select(DiaryEntry).where(DiaryEntry.instance_id == instance_id).order_by(DiaryEntry.at, DiaryEntry.id)
    return list(db.session.scalars(query.where(DiaryEntry.task_id == task_id) if task_id else query))


def by_day(rows: list[DiaryEntry], zone: str) -> list[tuple[date, list[DiaryEntry]]]:
    """Entries grouped by the day (in ``zone``) they were written, oldest day first."""
    days: dict[date, list[DiaryEntry]] = defaultdict(list)
    for row in rows:
        days[row.at.astimezone(ZoneInfo(zone)).date()].append(row)
    return sorted(days.items())


def written_by(task: HumanTask, entry_id: int, actor: str) -> DiaryEntry | None:
    """An entry of this diary task that ``actor`` wrote (the one who may correct it), else None."""
    entry = db.session.get(DiaryEntry, entry_id)
    return entry if entry is not None and entry.task_id == task.id and entry.recorded_by == actor else None


def correct(entry: DiaryEntry, data: dict, actor: str) -> None:
    """The entry as corrected; its time stays (the day it belongs to), and the history keeps what it said before."""
    with write():
        db.session.add(Event(instance_id=entry.instance_id, at=now(), actor=actor, kind="diary_entry_corrected",
                             task_id=entry.task_id, data={"entry": entry.id, "before": entry.data, "after": data}))
        entry.data = data
