"""The one clock: all code asks here for "now" (UTC, aware).

In service it is the system clock. Tests and simulations set it to a moment and move it on; the
engine's timers read it too (see ``engine.timekeeping``), so a simulated day is a day for everyone.
"""

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self):
        self._lock = threading.Lock()
        self._fixed: datetime | None = None

    def now(self) -> datetime:
        fixed = self._fixed
        return fixed if fixed is not None else datetime.now(UTC)

    @property
    def simulated(self) -> bool:
        return self._fixed is not None

    def set(self, at: datetime) -> None:
        """Stop the clock at ``at`` (aware); it moves only when told to."""
        if at.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        with self._lock:
            self._fixed = at.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        """Move a stopped clock on by ``delta``; returns the new now."""
        with self._lock:
            if self._fixed is None:
                raise RuntimeError("only a stopped clock can be moved; set() it first")
            self._fixed += delta
            return self._fixed

    def release(self) -> None:
        """Back to the system clock."""
        with self._lock:
            self._fixed = None


CLOCK = Clock()


def now() -> datetime:
    return CLOCK.now()
