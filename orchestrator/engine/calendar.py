"""Calendar time in a pathway's zone: what "a week later" and "at 07:00" mean to the people on it.

A duration's date part (years, months, weeks, days) is added on the zone's wall clock: ``P1W`` from
Monday 10:00 is the next Monday 10:00 across a summer-time change, and ``P1M`` from 31 January is
the last day of February. Its time part (hours, minutes, seconds) is then added as time that passes:
``PT12H`` is twelve real hours, even on the night the clocks turn. A wall-clock time that does not
exist (03:30 on the March night) is taken the gap later; one that occurs twice (03:30 on the
October night) is the first. A fraction of a week or a day passes as hours, a fraction of a month
as that share of the month reached.

Series are anchored to the plan: ``plan_at(started, zone, 3, "07:00")`` is 07:00 on the pathway's
fourth day whenever the steps before it happened, and ``next_at`` is the next time the clock shows
one of the given hours, so a late step does not move the rest of the schedule.
"""

import re
from calendar import monthrange
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

WEEKDAYS = {name: day for day, names in enumerate((
    ("mon", "monday", "ma", "maanantai", "mån", "måndag"), ("tue", "tuesday", "ti", "tiistai", "tis", "tisdag"),
    ("wed", "wednesday", "ke", "keskiviikko", "ons", "onsdag"), ("thu", "thursday", "to", "torstai", "tor", "torsdag"),
    ("fri", "friday", "pe", "perjantai", "fre", "fredag"), ("sat", "saturday", "la", "lauantai", "lör", "lördag"),
    ("sun", "sunday", "su", "sunnuntai", "sön", "söndag"))) for name in names}
CLOCK_TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")


class CalendarError(ValueError):
    """A duration, clock time or weekday that cannot be read; the message says which and how to write it."""


def parse(duration: str) -> dict:
    """An ISO-8601 duration's parts (years, months, weeks, days, hours, minutes, seconds), as SpiffWorkflow reads it.

    Only what SpiffWorkflow reads whole is taken: a decimal in the last part alone (``P1.5D``, ``PT1.5H``, not
    ``P1.5DT2H``), weeks alone (``P2W``, not ``P1W2D``), and at most a century of anything."""
    if not isinstance(duration, str) or not DURATION.match(duration) or _decimal_before_last(duration):
        raise CalendarError(f"{duration!r} is not an ISO-8601 duration such as \"P1W\", \"P1DT12H\" or \"PT1.5H\" "
                            "(a decimal only in its last part, weeks alone)")
    try:
        parts = TimerEventDefinition.parse_iso_duration(duration)
    except Exception:  # noqa: BLE001 - SpiffWorkflow says only "Invalid duration"
        raise CalendarError(f"'{duration}' is not an ISO-8601 duration such as \"P1W\" or \"PT12H\"") from None
    if any(value > LIMITS[key] for key, value in parts.items()):
        raise CalendarError(f"'{duration}' is longer than a pathway can wait (at most {LIMITS['years']:,} years)")
    return parts


DURATION = re.compile(r"^P(?!$)(?:(\d+(?:[.,]\d+)?W)|(\d+(?:[.,]\d+)?Y)?(\d+(?:[.,]\d+)?M)?(\d+(?:[.,]\d+)?D)?"
                      r"(T(?=\d)(\d+(?:[.,]\d+)?H)?(\d+(?:[.,]\d+)?M)?(\d+(?:[.,]\d+)?S)?)?)$")
LIMITS = {"years": 100, "months": 1200, "weeks": 5218, "days": 36525, "hours": 876600, "minutes": 52596000,
          "seconds": 3155760000}


def _decimal_before_last(duration: str) -> bool:
    """Whether a part other than the last has a decimal (SpiffWorkflow would drop it without a word)."""
    numbers = re.findall(r"\d+(?:[.,]\d+)?", duration)
    return any(("." in n or "," in n) for n in numbers[:-1])


def wall(local: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time (naive) in ``zone`` as an instant: a time in the spring gap moves on by the gap,
    a time the autumn night shows twice is the first."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def add(start: datetime, duration: str, zone: str | ZoneInfo) -> datetime:
    """``start`` plus an ISO-8601 duration in calendar time of ``zone`` (see the module's docstring); UTC."""
    zone = _zone(zone)
    parts = parse(duration)
    months = parts.get("years", 0) * 12 + parts.get("months", 0)
    days = parts.get("weeks", 0) * 7 + parts.get("days", 0)
    whole_months, part_month = divmod(months, 1)
    whole_days, part_day = divmod(days, 1)
    try:
        if whole_months or whole_days:  # on the wall clock
            local = _add_months(start.astimezone(zone).replace(tzinfo=None), int(whole_months))
            base = wall(local + timedelta(days=int(whole_days)), zone)
        else:  # no date to move: the instant itself (the second 03:30 of an autumn night stays the second)
            local, base = start.astimezone(zone).replace(tzinfo=None), start.astimezone(UTC)
        elapsed = timedelta(days=part_month * monthrange(local.year, local.month)[1]) if part_month else timedelta()
        return base + elapsed + timedelta(days=part_day, hours=parts.get("hours", 0),
                                          minutes=parts.get("minutes", 0), seconds=parts.get("seconds", 0))
    except (ValueError, OverflowError):
        raise CalendarError(f"'{duration}' from {start:%Y-%m-%d} falls outside the calendar") from None


def _add_months(local: datetime, months: int) -> datetime:
    if not months:
        return local
    index = local.year * 12 + local.month - 1 + months
    year, month = divmod(index, 12)
    return local.replace(year=year, month=month + 1, day=min(local.day, monthrange(year, month + 1)[1]))


def clock_time(value: str) -> time:
    """ "07:00" (or "7.00") as a time of day."""
    match = CLOCK_TIME.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise CalendarError(f"{value!r} is not a time of day such as \"07:00\"")
    return time(int(match.group(1)), int(match.group(2)))


def weekdays(value) -> set[int]:
    """ "mon", "maanantai", "mon,thu" or a list of them as weekday numbers (Monday 0)."""
    names = value.split(",") if isinstance(value, str) else list(value or [])
    found = set()
    for name in names:
        day = WEEKDAYS.get(str(name).strip().lower())
        if day is None:
            raise CalendarError(f"{name!r} is not a weekday such as \"mon\" or \"ma\"")
        found.add(day)
    if not found:
        raise CalendarError("no weekday given: write one such as \"mon\" or \"ma\"")
    return found


def next_at(now: datetime, zone: str | ZoneInfo, times, on=None, after: str | None = None) -> datetime:
    """The first moment after ``now`` (or after ``now`` plus the duration ``after``) at which the clock in
    ``zone`` shows one of ``times`` (on one of the weekdays ``on``, when given); UTC."""
    zone = _zone(zone)
    if after is not None:  # that moment itself counts: 09:00 three months after 09:00 is 09:00
        now = add(now, after, zone) - timedelta(microseconds=1)
    hours = sorted(clock_time(t) for t in ([times] if isinstance(times, str) else times))
    if not hours:
        raise CalendarError("next_at needs at least one time of day such as \"07:00\"")
    days = weekdays(on) if on is not None else set(range(7))
    today = now.astimezone(zone).date()
    for offset in range(8):
        day = today + timedelta(days=offset)
        if day.weekday() not in days:
            continue
        later = [at for at in (wall(datetime.combine(day, hour), zone) for hour in hours) if at > now]
        if later:  # the earliest: on a spring night two clock times may fall on the same instant, or swap
            return min(later)
    raise CalendarError("no such time within a week")  # unreachable: every weekday recurs within eight days


def plan_at(started: datetime, zone: str | ZoneInfo, offset, at: str) -> datetime:
    """The pathway's day ``offset`` (0 is the day it started; a number of days or an ISO-8601 duration
    of whole days, weeks, months) at the clock time ``at`` in ``zone``; UTC."""
    zone = _zone(zone)
    first = started.astimezone(zone).date()
    if isinstance(offset, bool) or not isinstance(offset, int | str):
        raise CalendarError(f"{offset!r} is not a day of the plan: give a number of days or a duration such as \"P1W\"")
    if isinstance(offset, int):
        if not 0 <= offset <= LIMITS["days"]:
            raise CalendarError(f"day {offset} of the plan: give a day from 0 to {LIMITS['days']:,}")
        day = first + timedelta(days=offset)
    else:
        parts = parse(offset)
        if any(parts.get(k) for k in ("hours", "minutes", "seconds")):
            raise CalendarError(f"'{offset}' has a time part; plan_at takes days, weeks or months and a clock time")
        day = add(datetime.combine(first, time(12), zone), offset, zone).astimezone(zone).date()
    return wall(datetime.combine(day, clock_time(at)), zone)


def _zone(zone: str | ZoneInfo) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
