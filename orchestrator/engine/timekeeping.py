"""SpiffWorkflow's timers read our clock and count in calendar time of the pathway's zone.

SpiffWorkflow's timer module asks ``datetime.now(timezone.utc)`` whether a timer is due and reads a
date without a zone in the machine's local zone. Both are names in that one module, so we give it a
``datetime`` whose ``now`` is the app's clock and a zone that is the pathway's (a context variable
set around each step), instead of patching anything process-wide.

It adds a duration as a fixed number of seconds, so a weekly timer drifts an hour at summer time.
Our own duration and cycle timers (registered under SpiffWorkflow's type names, so stored documents
read either way) add them in calendar time (``calendar.py``). Around a step the pathway's start is
known too, for the helpers a timer expression may call: ``next_at("07:00", "19:00")``,
``next_at("10:00", on="mon")``, ``next_at("09:00", after="P3M")``, ``plan_at(3, "07:00")``,
``is_past(moment)``.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

from . import calendar

DEFAULT_ZONE = "Europe/Helsinki"
_clock: list[Callable[[], datetime]] = [lambda: datetime.now(UTC)]
_DEFAULT = ZoneInfo(DEFAULT_ZONE)
_zone: ContextVar[ZoneInfo | None] = ContextVar("polku_zone", default=None)
_started: ContextVar[datetime | None] = ContextVar("polku_started", default=None)


def _current() -> ZoneInfo:
    return _zone.get() or _DEFAULT


class _ClockDatetime(datetime):
    """``datetime`` as the timer module sees it: ``now`` is the app's clock."""

    @classmethod
    def now(cls, tz: tzinfo | None = None):
        current = _clock[0]()
        current = current.astimezone(tz) if tz is not None else current.astimezone(_current()).replace(tzinfo=None)
        return cls.combine(current.date(), current.timetz())


class _PathwayZone(tzinfo):
    """The time zone of the pathway whose step is running; dates written without a zone are read in it."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return _current().utcoffset(dt)

    def dst(self, dt: datetime | None) -> timedelta | None:
        return _current().dst(dt)

    def tzname(self, dt: datetime | None) -> str | None:
        return _current().tzname(dt)


def zone_problem(name: str) -> str | None:
    """Why a time zone name cannot be used, or None."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"'{name}' is not a time zone name such as \"{DEFAULT_ZONE}\""
    return None


def use_clock(now: Callable[[], datetime]) -> None:
    """Make the timers read ``now`` (a function returning an aware datetime)."""
    _clock[0] = now


@contextmanager
def in_zone(name: str | None, started: datetime | None = None) -> Iterator[None]:
    """Run engine work in the calendar of ``name`` (the default zone when None) for a pathway that
    started at ``started`` (the day ``plan_at`` counts from)."""
    zone, start = _zone.set(ZoneInfo(name or DEFAULT_ZONE)), _started.set(started)
    try:
        yield
    finally:
        _started.reset(start)
        _zone.reset(zone)


def current_zone() -> ZoneInfo:
    return _current()


def now() -> datetime:
    return _clock[0]()


def _local(at: datetime) -> str:
    return at.astimezone(_current()).isoformat()


def next_at(*times: str, on=None, after: str | None = None) -> str:
    """For timer expressions: the next moment the pathway's clock shows one of ``times`` ("07:00"), on the
    weekdays ``on`` ("mon", "ma,to") when given, once the duration ``after`` ("P3M") has passed when given;
    an ISO-8601 date-time."""
    return _local(calendar.next_at(now(), _current(), list(times), on, after))


def plan_at(day, at: str) -> str:
    """For timer expressions: the pathway's day ``day`` (0 is the day it started; or a duration such as
    "P2W") at the clock time ``at``; an ISO-8601 date-time."""
    started = _started.get()
    if started is None:
        raise calendar.CalendarError("plan_at counts from the pathway's start, which is not known here")
    return _local(calendar.plan_at(started, _current(), day, at))


def is_past(moment: str) -> bool:
    """For conditions: whether an ISO-8601 date-time (as ``plan_at`` gives) has passed."""
    return spiff_timer.TimerEventDefinition.get_datetime(moment) <= now()


HELPERS = {"next_at": next_at, "plan_at": plan_at, "is_past": is_past}


class CalendarDuration(spiff_timer.DurationTimerEventDefinition):
    """A duration timer that falls due in calendar time of the pathway's zone (``P1W``: the same hour a week on)."""

    def has_fired(self, my_task):
        if my_task._get_internal_data("event_value") is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            my_task._set_internal_data(event_value=_local(calendar.add(now(), expression, _current())))
        return super().has_fired(my_task)


class CalendarCycle(spiff_timer.CycleTimerEventDefinition):
    """A cycle timer whose repetitions keep the wall-clock time: ``R/2026-01-05T07:00/P1D`` is 07:00 every day.

    Its value keeps the period as written (``period``) besides SpiffWorkflow's ``duration`` in seconds;
    a value stored without it repeats as SpiffWorkflow's does.
    """

    def cycle_complete(self, my_task):
        value = my_task._get_internal_data("event_value")
        if value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            value = _cycle(expression)
            if value is None:
                return super().cycle_complete(my_task)
            my_task._set_internal_data(event_value=value)
        if "period" not in value:
            return super().cycle_complete(my_task)
        if value["cycles"] == 0:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
            return False
        due = datetime.fromisoformat(value["next"])
        if due >= now():
            return False
        value["next"] = _local(calendar.add(due, value["period"], _current()))
        value["cycles"] -= 1
        my_task._set_internal_data(event_value=value)
        return True


def _cycle(expression: str) -> dict | None:
    """``R[n]/<start>/<period>`` or ``R[n]/<period>`` in calendar time; None for the forms left to SpiffWorkflow."""
    parts = expression.upper().replace("--", "/").split("/")
    if not parts[0].startswith("R") or len(parts) not in (2, 3):
        return None
    cycles = int(parts[0][1:]) if parts[0][1:] else -1
    period = parts[-1]
    if not period.startswith("P"):
        return None
    if len(parts) == 2:
        first = calendar.add(now(), period, _current())
    elif parts[1].startswith("P") or "W" in parts[1]:
        return None
    else:
        first = spiff_timer.TimerEventDefinition.get_datetime(parts[1])
    seconds = (calendar.add(first, period, _current()) - first).total_seconds()
    return {"cycles": cycles, "next": _local(first), "duration": seconds, "period": period}


def register(registry) -> None:
    """Restore SpiffWorkflow's duration and cycle timers (in specs and stored documents) as ours."""
    for ours, base in ((CalendarDuration, "DurationTimerEventDefinition"),
                       (CalendarCycle, "CycleTimerEventDefinition")):
        TimerConditionalEventDefinitionConverter(ours, registry, typename=base)


spiff_timer.datetime = _ClockDatetime
spiff_timer.LOCALTZ = _PathwayZone()
