"""The one clock: all code asks here for "now" (UTC, aware)."""

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
