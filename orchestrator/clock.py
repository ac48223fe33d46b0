"""The one clock: all code asks here for "now" (UTC, aware).

In service it is the system clock. Tests and simulations set it to a moment and move it on; the
engine's timers read it too (see ``engine.timekeeping``), so a simulated day is a day for everyone.

A deploy runs the package's scenarios inside the running service: stopping the clock for the whole
process there would stop it for every other request and for the scheduler. ``CLOCK.scoped(at)`` gives
the code within it a clock of its own instead (a context variable): ``now``, ``set`` and ``advance``
act on a private time there, while other threads (whose contexts start without it) and the code
outside the block keep the global clock.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("the clock needs an aware datetime")
    return at.astimezone(UTC)


class Clock:
    def __init__(self):
        self._lock = threading.Lock()
        self._fixed: datetime | None = None
        # The private time of a scoped block: a one-item list, so that set/advance change it in place.
        self._scope: ContextVar[list[datetime] | None] = ContextVar("polku_clock_scope", default=None)

    def now(self) -> datetime:
        scope = self._scope.get()
        if scope is not None:
            return scope[0]
        fixed = self._fixed
        return fixed if fixed is not None else datetime.now(UTC)

    @property
    def simulated(self) -> bool:
        return self._scope.get() is not None or self._fixed is not None

    def set(self, at: datetime) -> None:
        """Stop the clock at ``at`` (aware); it moves only when told to."""
        at = _aware(at)
        scope = self._scope.get()
        if scope is not None:
            scope[0] = at
            return
        with self._lock:
            self._fixed = at

    def advance(self, delta: timedelta) -> datetime:
        """Move a stopped clock on by ``delta``; returns the new now."""
        scope = self._scope.get()
        if scope is not None:
            scope[0] += delta
            return scope[0]
        with self._lock:
            if self._fixed is None:
                raise RuntimeError("only a stopped clock can be moved; set() it first")
            self._fixed += delta
            return self._fixed

    def release(self) -> None:
        """Back to the system clock."""
        if self._scope.get() is not None:
            raise RuntimeError("a scoped clock ends with its block, not with release()")
        with self._lock:
            self._fixed = None

    @contextmanager
    def scoped(self, at: datetime) -> Iterator["Clock"]:
        """Within the block, this context's clock stands at ``at`` and moves only when told to; nobody
        else's does. Blocks nest: the inner one's time is its own."""
        token = self._scope.set([_aware(at)])
        try:
            yield self
        finally:
            self._scope.reset(token)


CLOCK = Clock()


def now() -> datetime:
    return CLOCK.now()
