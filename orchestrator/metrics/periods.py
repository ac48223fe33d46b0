"""Reporting periods in the organisation's zone: quarters (the follow-up model's unit), months and weeks, and
the moment figures are known at (``day_end``, ``before``)."""

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, true

QUARTER = re.compile(r"([0-9]{4})-Q([1-4])")  # whole label only: "2027-Q1\n" is not a quarter
BY = ("week", "month", "quarter")
MOST_PERIODS = 160  # a series of at most this many periods in one answer (three years by week)


def day_start(day: date, zone: str) -> datetime:
    """The moment a day begins in ``zone``, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def day_end(day: date, zone: str) -> datetime:
    """The moment a day ends in ``zone`` (the next day's midnight), in UTC: what is known at the end of ``day``
    was recorded before it."""
    return day_start(day + timedelta(days=1), zone)


def before(column, at: datetime | None):
    """In SQL: the time in ``column`` is before ``at`` (recorded by then); always true when ``at`` is None."""
    return true() if at is None else column < at


def first_of_quarter(day: date) -> date:
    """The first day of the quarter ``day`` is in."""
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def quarter_of(at: datetime, zone: str) -> str:
    local = at.astimezone(ZoneInfo(zone))
    return f"{local.year}-Q{(local.month - 1) // 3 + 1}"


def quarter(label: str, zone: str) -> tuple[datetime, datetime]:
    """``2027-Q1`` as [start, end) in UTC, midnight to midnight in ``zone``; ValueError for anything else."""
    found = QUARTER.fullmatch(label or "")
    if not found:
        raise ValueError(f"'{label}' is not a quarter such as 2027-Q1")
    year, number = int(found[1]), int(found[2])
    if not 2000 <= year <= 2100:
        raise ValueError(f"'{label}' is not a quarter between 2000 and 2100")
    first = date(year, 3 * number - 2, 1)
    after = date(year + (number == 4), 1 if number == 4 else 3 * number + 1, 1)
    return day_start(first, zone), day_start(after, zone)


def quarters(year: int) -> list[str]:
    return [f"{year}-Q{n}" for n in range(1, 5)]


def buckets(start: datetime, end: datetime, by: str, zone: str,
            until: datetime | None = None) -> list[tuple[date, datetime, datetime]]:
    """The weeks (from Monday), months or quarters that [start, end) spans, each as (first day, start, end), the
    first and last clipped to [start, end); ``until``: none that begins at or after it."""
    tz = ZoneInfo(zone)
    day = start.astimezone(tz).date()
    day = {"week": day - timedelta(days=day.weekday()), "month": day.replace(day=1),
           "quarter": day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)}[by]
    found = []
    while day_start(day, zone) < end and (until is None or max(day_start(day, zone), start) < until):
        after = _next(day, by)
        found.append((day, max(day_start(day, zone), start), min(day_start(after, zone), end)))
        day = after
    return found


def _next(day: date, by: str) -> date:
    if by == "week":
        return day + timedelta(days=7)
    months = 1 if by == "month" else 3
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def which(column, edges: list[datetime]):
    """In SQL: which period (0, 1, …) between ``edges`` the time in ``column`` falls in; NULL outside them all.
    A CASE over the boundaries, so the same SQL runs on SQLite and PostgreSQL."""
    return case(*[(and_(column >= a, column < b), i) for i, (a, b) in enumerate(zip(edges, edges[1:], strict=False))],
                else_=None)
