"""Content views: a view is one person's look at one page on one day (in the organisation's zone), however
often they reload it that day. Views carry their pathway's key, so a pathway's are counted without reading
an instance. The viewer is the person the view names (views counted before viewers were recorded stand for
their instance and role: a client on their pathway, or its care team).

A page is named by its title: the name of the manual task that shows it, else the first heading of its
Markdown, else its file name."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import String, and_, case, cast, func, select, true

from ..extensions import db
from ..models import ContentView, PathwayVersion
from .periods import before, which

HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def views(edges: list[datetime], keys: list[str], where=None, by_page: bool = False, at: datetime | None = None):
    """Rows of (pathway key, period, [page,] views) for the periods between ``edges``; ``where``: a further
    condition on the views (one version's instances, say); ``at``: only views before it (None: all)."""
    first = _first_views(edges, keys, and_(true() if where is None else where, before(ContentView.at, at))).subquery()
    period = which(first.c.at, edges)
    columns = (first.c.pathway_key, period, *([first.c.page] if by_page else []))
    return db.session.execute(select(*columns, func.count()).group_by(*columns)).all()


def _first_views(edges: list[datetime], keys: list[str], where):
    """Each person's first view of each page on each day, with when it was."""
    day = local_day(ContentView.at, edges[0], edges[-1], current_app.config["POLKU_TIME_ZONE"])
    viewer = func.coalesce(ContentView.viewer, ContentView.role + ":" + cast(ContentView.instance_id, String))
    person = (ContentView.pathway_key, viewer, ContentView.page, day)
    return (select(ContentView.pathway_key, ContentView.page, func.min(ContentView.at).label("at"))
            .where(ContentView.pathway_key.in_(keys), ContentView.at >= edges[0], ContentView.at < edges[-1], where)
            .group_by(*person))


def local_day(column, start: datetime, end: datetime, zone: str):
    """The calendar day of a UTC time column in ``zone``, in SQL. PostgreSQL knows the zones; on SQLite the
    zone's offsets between ``start`` and ``end`` are written out as a CASE."""
    if db.engine.dialect.name == "postgresql":
        return func.date(func.timezone(zone, column))
    shifts, at, tz = [], start, ZoneInfo(zone)
    offset = start.astimezone(tz).utcoffset()
    while at < end:  # find the moments the offset changes (summer time), to the hour
        step = at + timedelta(days=1)
        if step.astimezone(tz).utcoffset() != offset:
            while at.astimezone(tz).utcoffset() == offset:
                at += timedelta(hours=1)
            shifts.append((at, offset))
            offset = at.astimezone(tz).utcoffset()
        else:
            at = step
    shifted = [(column < moment, func.date(column, _minutes(before))) for moment, before in shifts]
    return case(*shifted, else_=func.date(column, _minutes(offset))) if shifted else func.date(column, _minutes(offset))


def _minutes(offset: timedelta) -> str:
    return f"{int(offset.total_seconds() // 60):+d} minutes"


def titles(version_ids: list[int]) -> dict[str, str]:
    """Each content page's title (file name → title), the newest version's first."""
    found: dict[str, str] = {}
    for meta, content in db.session.execute(select(PathwayVersion.task_meta, PathwayVersion.content)
                                            .where(PathwayVersion.id.in_(version_ids))
                                            .order_by(PathwayVersion.id.desc())):
        for spec, task in (meta or {}).items():
            name = (task or {}).get("title")
            if (task or {}).get("content") and name and name != spec:
                found.setdefault(task["content"], name)
        for page, text in (content or {}).items():
            heading = HEADING.search(text or "")
            if heading:
                found.setdefault(page, heading[1])
    return found
