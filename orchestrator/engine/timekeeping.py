"""SpiffWorkflow's timers read our clock and the pathway's time zone.

SpiffWorkflow's timer module asks ``datetime.now(timezone.utc)`` whether a timer is due and reads a
date without a zone in the machine's local zone. Both are names in that one module, so we give it a
``datetime`` whose ``now`` is the app's clock and a zone that is the pathway's (a context variable
set around each step), instead of patching anything process-wide.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

DEFAULT_ZONE = "Europe/Helsinki"
_clock: list[Callable[[], datetime]] = [lambda: datetime.now(UTC)]
_DEFAULT = ZoneInfo(DEFAULT_ZONE)
_zone: ContextVar[ZoneInfo | None] = ContextVar("polku_zone", default=None)


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
def in_zone(name: str | None) -> Iterator[None]:
    """Run engine work with dates without a zone read in ``name`` (the default zone when None)."""
    token = _zone.set(ZoneInfo(name or DEFAULT_ZONE))
    try:
        yield
    finally:
        _zone.reset(token)


spiff_timer.datetime = _ClockDatetime
spiff_timer.LOCALTZ = _PathwayZone()
