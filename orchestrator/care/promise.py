"""The service promise: by when the care team answers a client's message.

"A reply within N working days": the day a message is sent does not count; weekends and Finnish
public holidays (with Midsummer Eve and Christmas Eve, when offices are closed) are not working
days; the reply is due by the end of the office day (16:00 in the pathway's zone) on the Nth
working day after sending.
"""

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

CLOSING = time(16, 0)


@lru_cache(maxsize=16)
def _holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("FI", years=year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def reply_by(sent_at: datetime, working_days: int, zone: str, closing: time = CLOSING) -> datetime:
    """The time a reply to a message sent at ``sent_at`` is due, as UTC."""
    tz = ZoneInfo(zone)
    day, counted = sent_at.astimezone(tz).date(), 0
    while counted < working_days:
        day += timedelta(days=1)
        counted += is_working_day(day)
    return datetime.combine(day, closing, tzinfo=tz).astimezone(UTC)
