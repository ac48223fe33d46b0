"""PROM outcomes in the rollups: each client's answers to a PROM scale per quarter, how many and the first and
the last (``MetricProm``), and beside them, per pathway, quarter and scale, the clients who answered it twice
with the sums of their first and last answers (``MetricDay`` rows ``prom_clients``, ``prom_first`` and
``prom_last``, labelled with the scale), moved by each change as ``rollups`` moves the clients' forms. A
report of a quarter reads the outcome from these: the mean first and last answer of those clients."""

from collections import defaultdict
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, select

from ..extensions import db
from ..models import MetricDay, MetricProm, Score
from . import rollups

METRICS = ("prom_clients", "prom_first", "prom_last")


def _answers(where) -> dict[tuple, tuple[int, float, float]]:
    """(pathway key, quarter, instance, scale) → (answers, first, last) of the PROM answers ``where`` selects."""
    zone, found = ZoneInfo(rollups.zone()), {}
    for key, instance, scale, at, value in db.session.execute(
            select(Score.pathway_key, Score.instance_id, Score.name, Score.at, Score.value)
            .where(Score.kind == "prom", where).order_by(Score.at, Score.id)):
        local = at.astimezone(zone).date()
        quarter = date(local.year, (local.month - 1) // 3 * 3 + 1, 1)
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
    if not instances:
        return
    fresh = _answers(Score.instance_id.in_(instances))
    old = {(r.pathway_key, rollups.as_date(r.quarter), r.instance_id, r.scale): (r.answers, r.first, r.last)
           for r in db.session.scalars(select(MetricProm).where(MetricProm.instance_id.in_(instances)))}
    moved: dict[tuple, float] = defaultdict(float)
    for key in set(fresh) | set(old):
        before, after = old.get(key), fresh.get(key)
        if before == after:
            continue
        _write(key, after)
        for metric, was, now in zip(METRICS, _outcome(before), _outcome(after), strict=True):
            moved[(key[0], key[1], key[3], metric)] += now - was
    db.session.flush()
    for (pathway, quarter, scale, metric), change in sorted(moved.items()):
        if change:
            rollups.add(MetricDay(version_id=0, pathway_key=pathway, day=quarter, metric=metric, known=quarter,
                                  label=scale, bucket=0, value=change))


def _write(key: tuple, counts: tuple | None) -> None:
    row = db.session.get(MetricProm, key)
    if counts is None:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(MetricProm(pathway_key=key[0], quarter=key[1], instance_id=key[2], scale=key[3],
                                  answers=counts[0], first=counts[1], last=counts[2]))
    else:
        row.answers, row.first, row.last = counts


def recount(first: date, after: date) -> None:
    """The quarters in [first, after) again from the answers."""
    db.session.execute(delete(MetricProm).where(MetricProm.quarter >= first, MetricProm.quarter < after))
    db.session.execute(delete(MetricDay).where(MetricDay.metric.in_(METRICS), MetricDay.day >= first,
                                               MetricDay.day < after))
    sums: dict[tuple, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for key, counts in _answers(and_(Score.at >= rollups.midnight(first), Score.at < rollups.midnight(after))).items():
        _write(key, counts)
        for i, value in enumerate(_outcome(counts)):
            sums[(key[0], key[1], key[3])][i] += value
    for (pathway, quarter, scale), values in sorted(sums.items()):
        db.session.add_all(MetricDay(version_id=0, pathway_key=pathway, day=quarter, metric=metric, known=quarter,
                                     label=scale, bucket=0, value=value)
                           for metric, value in zip(METRICS, values, strict=True) if value)
    db.session.flush()


def quarters() -> list[tuple[date, date]]:
    """The quarters from the first PROM answer to the last."""
    return rollups.months(Score.at, Score, (Score.kind == "prom",), by=3)


def clear_outside(spans: list[tuple[date, date]]) -> None:
    """No PROM rollups outside ``spans`` (none at all without them)."""
    prom, day = MetricProm.quarter, MetricDay.day
    if spans:
        db.session.execute(delete(MetricProm).where((prom < spans[0][0]) | (prom >= spans[-1][1])))
        db.session.execute(delete(MetricDay).where(MetricDay.metric.in_(METRICS),
                                                   (day < spans[0][0]) | (day >= spans[-1][1])))
    else:
        db.session.execute(delete(MetricProm))
        db.session.execute(delete(MetricDay).where(MetricDay.metric.in_(METRICS)))
