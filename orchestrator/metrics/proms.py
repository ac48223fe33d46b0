"""PROM outcomes in the rollups: each client's answers to a PROM scale per quarter, how many and the first and
the last (``MetricProm``), and beside them, per pathway, quarter and scale, the clients who answered it twice
with the sums of their first and last answers (``MetricDay`` rows ``prom_clients``, ``prom_first`` and
``prom_last``, labelled with the scale), moved by each change as ``rollups`` moves the clients' forms. A
report of a quarter reads the outcome from these: the mean first and last answer of those clients."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select

from ..extensions import db
from ..models import MetricProm, Score
from . import periods, rollups

METRICS = ("prom_clients", "prom_first", "prom_last")
FIELDS = ("answers", "first", "last")


def _answers(where) -> dict[tuple, tuple[int, float, float]]:
    """(pathway key, quarter, instance, scale) → (answers, first, last) of the PROM answers ``where`` selects."""
    zone, found = ZoneInfo(rollups.zone()), {}
    for key, instance, scale, at, value in db.session.execute(
            select(Score.pathway_key, Score.instance_id, Score.name, Score.at, Score.value)
            .where(Score.kind == "prom", where).order_by(Score.at, Score.id)):
        quarter = periods.first_of_quarter(at.astimezone(zone).date())
        n, first, _last = found.get((key, quarter, instance, scale), (0, value, value))
        found[(key, quarter, instance, scale)] = (n + 1, first, value)
    return found


def _outcome(counts: tuple | None) -> tuple[float, float, float]:
    """What a client adds to ``METRICS``: herself and her first and last answer, once she answered twice."""
    return (1, counts[1], counts[2]) if counts and counts[0] >= 2 else (0, 0.0, 0.0)


def count_changed(since: datetime, until: datetime) -> None:
    """Count again the clients who answered a PROM in the window, and move the quarters' outcomes by what
    changed."""
    instances = sorted(set(db.session.scalars(select(Score.instance_id).where(
        Score.kind == "prom", Score.at >= since, Score.at <= until))))
    if instances:
        rollups.move(MetricProm, FIELDS, _answers(Score.instance_id.in_(instances)),
                     rollups.stored(MetricProm, FIELDS, instances), METRICS, _outcome, lambda key: key[3])


def recount(first: date, after: date) -> None:
    """The quarters in [first, after) again from the answers."""
    rollups.clear(MetricProm, METRICS, lambda quarter: and_(quarter >= first, quarter < after))
    rollups.move(MetricProm, FIELDS, _answers(and_(Score.at >= rollups.midnight(first),
                                                   Score.at < rollups.midnight(after))),
                 {}, METRICS, _outcome, lambda key: key[3])


def quarters() -> list[tuple[date, date]]:
    """The quarters from the first PROM answer to the last."""
    return rollups.months(Score.at, Score, (Score.kind == "prom",), by=3)
