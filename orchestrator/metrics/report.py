"""The organisation's metrics, computed from projected rows (never by loading an instance).

Each metric is for a period [start, end) and for one pathway, one version or all of them: what was
asked, sent or reminded in the period, with its outcome (answered, replied) as known now. A target
(the package's ``goal:<metric>`` property) turns it into a traffic light as the follow-up model has
it: attainment ≥ 100 % green, 85–99 % yellow, below 85 % red. Nothing here names a client: the
numbers are aggregates, which is all a self-care pathway may give.
"""

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import and_, case, func, or_, select, true

from .. import clock
from ..extensions import db
from ..models import ContentView, HumanTask, Instance, Message, Notification, Pathway, PathwayVersion, Score
from .names import LESS_IS_BETTER, UNITS

REGULAR = 0.8  # a client "answers regularly" who answers at least this share of what was asked


@dataclass(frozen=True)
class Scope:
    """Which instances count: one pathway (by key), one version of it, or all (both None)."""

    pathway: str | None = None
    version_id: int | None = None


@dataclass(frozen=True)
class Definition:
    key: str
    unit: str  # count, %, h, score
    higher_is_better: bool = True


DEFINITIONS = {key: Definition(key, unit, key not in LESS_IS_BETTER) for key, unit in UNITS.items()}


@dataclass
class Metric:
    key: str
    value: float | None
    basis: int = 0  # how many rows the value is computed from (answers, messages…)
    target: float | None = None

    @property
    def definition(self) -> Definition:
        return DEFINITIONS[self.key]

    @property
    def attainment(self) -> float | None:
        """The value as a percentage of its target (the other way round where less is better)."""
        return attainment(self.value, self.target, self.definition.higher_is_better)

    @property
    def light(self) -> str | None:
        return light(self.attainment)


def attainment(value: float | None, target: float | None, higher_is_better: bool = True) -> float | None:
    if value is None or target is None or target <= 0 and higher_is_better:
        return None
    if higher_is_better:
        return value / target * 100
    return float("inf") if value <= 0 else target / value * 100


def light(attained: float | None) -> str | None:
    """green at ≥ 100 %, yellow at 85–99.9… %, red below 85 %; None without a target."""
    if attained is None:
        return None
    return "green" if attained >= 100 else "yellow" if attained >= 85 else "red"


@dataclass
class Report:
    scope: Scope
    start: datetime
    end: datetime
    metrics: dict[str, Metric] = field(default_factory=dict)
    content: dict[str, int] = field(default_factory=dict)  # views per page
    proms: dict[str, "Outcome"] = field(default_factory=dict)  # by PROM scale


@dataclass(frozen=True)
class Outcome:
    """A PROM scale over the pathway: the mean first and last answer of the clients who answered it twice."""

    clients: int
    first: float
    last: float

    @property
    def change(self) -> float:
        return self.last - self.first


def _versions(scope: Scope) -> list[int] | None:
    """The version ids the scope covers (None: all of them)."""
    if scope.version_id is not None:
        return [scope.version_id]
    if scope.pathway is not None:
        return list(db.session.scalars(select(PathwayVersion.id).join(Pathway, Pathway.id == PathwayVersion.pathway_id)
                                       .where(Pathway.key == scope.pathway)))
    return None


def _instances(scope: Scope, column=Instance.version_id):
    """A condition on a version id column (an instance's by default) for the scope."""
    ids = _versions(scope)
    return true() if ids is None else column.in_(ids)


def report(scope: Scope, start: datetime, end: datetime, goals: dict | None = None) -> Report:
    """Every metric of the scope for the period, with the targets in ``goals`` (metric → number)."""
    found = Report(scope, start, end)
    for metric in (*_clients(scope, start, end), *_answers(scope, start, end), *_messages(scope, start, end),
                   *_scores(scope, start, end), *_work(scope, start, end), *_reminders(scope, start, end)):
        metric.target = (goals or {}).get(metric.key)
        found.metrics[metric.key] = metric
    found.content = _content(scope, start, end)
    found.proms = _proms(scope, start, end)
    views = sum(found.content.values())
    found.metrics["content_views"] = Metric("content_views", views, views, (goals or {}).get("content_views"))
    return found


def _count(*where) -> int:
    return db.session.scalar(select(func.count()).select_from(Instance).where(*where)) or 0


def _clients(scope: Scope, start: datetime, end: datetime) -> list[Metric]:
    inside = _instances(scope)
    started = _count(inside, Instance.created_at >= start, Instance.created_at < end)
    active = _count(inside, Instance.created_at < end, or_(Instance.ended_at.is_(None), Instance.ended_at >= end))
    ended = _count(inside, Instance.ended_at >= start, Instance.ended_at < end)
    return [Metric("clients_started", started, started), Metric("clients_active", active, active),
            Metric("clients_ended", ended, ended)]


def _answers(scope: Scope, start: datetime, end: datetime) -> list[Metric]:
    """Client forms asked in the period (questionnaires, measurements, tests) and how many were answered."""
    answered = case((HumanTask.state == "completed", 1), else_=0)
    rows = db.session.execute(
        select(HumanTask.instance_id, func.count(), func.sum(answered))
        .where(_instances(scope, HumanTask.version_id), HumanTask.audience == "client", HumanTask.form.is_not(None),
               HumanTask.created_at >= start, HumanTask.created_at < end)
        .group_by(HumanTask.instance_id)).all()
    asked, given = sum(r[1] for r in rows), sum(r[2] or 0 for r in rows)
    regular = sum(1 for r in rows if (r[2] or 0) >= REGULAR * r[1])
    return [Metric("response_rate", 100 * given / asked if asked else None, asked),
            Metric("answering_regularly", 100 * regular / len(rows) if rows else None, len(rows))]


def _messages(scope: Scope, start: datetime, end: datetime, now: datetime | None = None) -> list[Metric]:
    at = now or clock.now()
    # A message counts in the period it was sent in, with its outcome as known now.
    rows = [_Sent(r.sender, r.sent_at, r.replied_at if r.replied_at and r.replied_at < at else None, r.reply_by)
            for r in db.session.execute(
                select(Message.sender, Message.sent_at, Message.replied_at, Message.reply_by)
                .where(Message.instance_id.in_(select(Instance.id).where(_instances(scope))),
                       Message.sent_at >= start, Message.sent_at < end))]
    asked = [r for r in rows if r.sender == "client"]
    hours = sorted((r.replied_at - r.sent_at).total_seconds() / 3600 for r in asked if r.replied_at)
    # A promise is kept or broken once answered, or once its reply-by time has passed unanswered.
    decided = [r for r in asked if r.reply_by and (r.replied_at or r.reply_by < at)]
    kept = sum(1 for r in decided if r.replied_at and r.replied_at <= r.reply_by)
    return [Metric("messages", len(asked), len(asked)), Metric("replies", sum(r.sender != "client" for r in rows),
                                                             len(rows)),
            Metric("reply_median_hours", statistics.median(hours) if hours else None, len(hours)),
            Metric("reply_p90_hours", _percentile(hours, 90), len(hours)),
            Metric("within_promise", 100 * kept / len(decided) if decided else None, len(decided))]


class _Sent(NamedTuple):
    sender: str
    sent_at: datetime
    replied_at: datetime | None
    reply_by: datetime | None


def _percentile(values: list[float], p: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least p % of the values at or below it."""
    if not values:
        return None
    rank = max(1, -(-len(values) * p // 100))
    return values[int(rank) - 1]


def _scores(scope: Scope, start: datetime, end: datetime) -> list[Metric]:
    where = [Score.at >= start, Score.at < end, _instances(scope, Score.version_id)]
    nps = list(db.session.scalars(select(Score.value).where(Score.kind == "nps", *where)))
    ces = list(db.session.scalars(select(Score.value).where(Score.kind == "ces", *where)))
    promoters, detractors = sum(v >= 9 for v in nps), sum(v <= 6 for v in nps)
    return [Metric("nps", 100 * (promoters - detractors) / len(nps) if nps else None, len(nps)),
            Metric("ces", statistics.fmean(ces) if ces else None, len(ces))]


def _proms(scope: Scope, start: datetime, end: datetime) -> dict[str, Outcome]:
    """Each PROM scale: first against last answer, per instance (its client stays unnamed), answered in the period."""
    answers: dict[str, dict[int, list[float]]] = {}
    for name, instance_id, value in db.session.execute(
            select(Score.name, Score.instance_id, Score.value)
            .where(Score.kind == "prom", Score.at >= start, Score.at < end, _instances(scope, Score.version_id))
            .order_by(Score.at, Score.id)):
        answers.setdefault(name, {}).setdefault(instance_id, []).append(value)
    found = {}
    for name, by_instance in sorted(answers.items()):
        twice = [values for values in by_instance.values() if len(values) >= 2]
        if twice:
            found[name] = Outcome(len(twice), statistics.fmean(v[0] for v in twice),
                                  statistics.fmean(v[-1] for v in twice))
    return found


def _work(scope: Scope, start: datetime, end: datetime) -> list[Metric]:
    where = (_instances(scope, HumanTask.version_id), HumanTask.audience == "professional",
             HumanTask.state == "completed", HumanTask.completed_at >= start, HumanTask.completed_at < end)
    if db.engine.dialect.name == "postgresql":  # the median in the database: no row leaves it
        seconds = func.extract("epoch", HumanTask.completed_at - HumanTask.created_at)
        n, median = db.session.execute(select(func.count(), func.percentile_cont(0.5).within_group(seconds))
                                       .where(*where)).one()
        median = median / 3600 if median is not None else None
    else:
        hours = [(done - opened).total_seconds() / 3600 for opened, done in
                 db.session.execute(select(HumanTask.created_at, HumanTask.completed_at).where(*where))]
        n, median = len(hours), statistics.median(hours) if hours else None
    return [Metric("professional_tasks", n, n), Metric("handling_median_hours", median, n)]


def _reminders(scope: Scope, start: datetime, end: datetime) -> list[Metric]:
    answered_after = and_(HumanTask.state == "completed", HumanTask.completed_at >= Notification.created_at)
    sent, about_tasks, after = db.session.execute(
        select(func.count(), func.count(Notification.task_id), func.sum(case((answered_after, 1), else_=0)))
        .select_from(Notification).outerjoin(HumanTask, HumanTask.id == Notification.task_id)
        .where(Notification.instance_id.in_(select(Instance.id).where(_instances(scope))),
               Notification.kind == "reminder", Notification.created_at >= start,
               Notification.created_at < end)).one()
    return [Metric("reminders_sent", sent or 0, sent or 0),
            Metric("answered_after_reminder", 100 * (after or 0) / about_tasks if about_tasks else None,
                   about_tasks or 0)]


def _content(scope: Scope, start: datetime, end: datetime) -> dict[str, int]:
    query = (select(ContentView.page, func.count()).where(ContentView.at >= start, ContentView.at < end)
             .group_by(ContentView.page))
    if scope.version_id is not None:
        query = query.join(Instance, Instance.id == ContentView.instance_id).where(_instances(scope))
    elif scope.pathway is not None:  # views carry their pathway's key: no instance to read
        query = query.where(ContentView.pathway_key == scope.pathway)
    return dict(sorted(tuple(row) for row in db.session.execute(query)))
