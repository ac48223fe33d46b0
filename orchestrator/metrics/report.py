"""The organisation's metrics, computed from projected rows (never by loading an instance).

Each metric is for a period [start, end) and for one pathway, one version or all of them: what was
asked, sent or reminded in the period, with its outcome (answered, replied) as known now, or as known at a
moment given (``at``: only what was recorded before it counts, so a closed period reads the same whenever it
is asked). A target
(the package's ``goal:<metric>`` property) turns it into a traffic light as the follow-up model has
it: attainment ≥ 100 % green, 85–99 % yellow, below 85 % red. Nothing here names a client: the
numbers are aggregates, which is all a self-care pathway may give.

Each metric is counted in one place only, so that a report and a dashboard cannot disagree: the
dashboard's metrics (``tables.KEYS``) come from ``tables.table`` for the scope's versions and the one
period, and this module counts only the rest. A metric's value, target and light, and the one NPS,
are in ``values``.
"""

import statistics
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, select, true

from .. import clock
from ..extensions import db
from ..models import ContentView, HumanTask, Instance, Message, Notification, Pathway, PathwayVersion, Score
from .asked import answered, asked, decided
from .periods import before
from .tables import table
from .values import Metric
from .views import titles, views

REGULAR = 0.8  # a client "answers regularly" who answers at least this share of what was asked
ALL = ""  # the group ``table`` adds every pathway into for Scope() (no pathway has an empty key)
# The order a report lists its metrics in (its page, CSV and JSON keep it).
ORDER = ("clients_started", "clients_active", "clients_ended", "response_rate", "answering_regularly", "messages",
         "replies", "reply_median_hours", "reply_p90_hours", "within_promise", "nps", "ces", "professional_tasks",
         "handling_median_hours", "reminders_sent", "answered_after_reminder", "content_views")


@dataclass(frozen=True)
class Scope:
    """Which instances count: one pathway (by key), one version of it, or all (both None)."""

    pathway: str | None = None
    version_id: int | None = None


@dataclass
class Report:
    scope: Scope
    start: datetime
    end: datetime
    metrics: dict[str, Metric] = field(default_factory=dict)
    content: dict[str, int] = field(default_factory=dict)  # views per page, by its title
    proms: dict[str, "Outcome"] = field(default_factory=dict)  # by PROM scale
    as_of: datetime | None = None  # the moment the figures are as known at


@dataclass(frozen=True)
class Outcome:
    """A PROM scale over the pathway: the mean first and last answer of the clients who answered it twice."""

    clients: int
    first: float
    last: float

    @property
    def change(self) -> float:
        return self.last - self.first


def report(scope: Scope, start: datetime, end: datetime, goals: dict | None = None,
           at: datetime | None = None) -> Report:
    """Every metric of the scope for the period, with the targets in ``goals`` (metric → number), as known at
    ``at`` (only what was recorded before it; None: as known now).

    The dashboard's metrics are ``table``'s for this one period, the rest are counted here."""

    goals = goals or {}
    group, pathway_of, also = _groups(scope)
    ids = None if scope == Scope() else list(pathway_of)
    found = Report(scope, start, end, content=_content(scope, pathway_of, start, end, at),
                   proms=_proms(ids, start, end, at), as_of=at or clock.now())
    counted = dict(table([start, end], pathway_of, {group: goals}, also, at)[(group, 0)])
    if scope.version_id is not None:
        # Views carry their pathway's key, not its version: the table counts the whole pathway's, without reading
        # an instance. One version's are its pages', read through its instances.
        views = sum(found.content.values())
        counted["content_views"] = Metric("content_views", views, views)
    for metric in (*_answering(ids, start, end, at), *_messages(ids, start, end, at), *_work(ids, start, end, at),
                   *_reminders(ids, start, end, at)):
        counted[metric.key] = metric
    for key in ORDER:
        found.metrics[key] = counted[key]
        found.metrics[key].target = goals.get(key)
    return found


def _groups(scope: Scope) -> tuple[str, dict[int, str], dict[str, list[str]]]:
    """The scope as ``table`` counts it: the group to read, each version id in it → its pathway's key, and
    ``also`` (all pathways: each pathway is added into the group ``ALL`` too). A pathway without versions
    maps none: the table still gives its group, with nothing counted."""
    if scope.version_id is not None:  # its views are not the table's (see report): the group's name matters not
        return scope.pathway or ALL, {scope.version_id: scope.pathway or ALL}, {}
    versions = select(PathwayVersion.id, Pathway.key).join(Pathway, Pathway.id == PathwayVersion.pathway_id)
    if scope.pathway is not None:
        return scope.pathway, dict(db.session.execute(versions.where(Pathway.key == scope.pathway)).all()), {}
    pathway_of = dict(db.session.execute(versions).all())
    return ALL, pathway_of, {key: [ALL] for key in set(pathway_of.values())}


def _inside(ids: list[int] | None, column=Instance.version_id):
    """A condition on a version id column (an instance's by default): among ``ids``, or any (None: all pathways)."""
    return true() if ids is None else column.in_(ids)


def _answering(ids: list[int] | None, start: datetime, end: datetime, at: datetime | None) -> list[Metric]:
    """The share of clients with a decided form asked in the period (see ``asked``) who answered at least
    ``REGULAR`` of theirs (the response rate over all of them is ``table``'s). Counted in the database: no
    row per client leaves it."""
    per_client = (select(func.sum(decided(at)).label("decided"), func.sum(answered(at)).label("given"))
                  .where(*asked(ids), HumanTask.created_at >= start, HumanTask.created_at < end,
                         before(HumanTask.created_at, at))
                  .group_by(HumanTask.instance_id).subquery())
    clients, regular = db.session.execute(
        select(func.count(), func.count(case((func.coalesce(per_client.c.given, 0)
                                               >= REGULAR * per_client.c.decided, 1))))
        .where(per_client.c.decided > 0)).one()
    return [Metric("answering_regularly", 100 * regular / clients if clients else None, clients)]


def _messages(ids: list[int] | None, start: datetime, end: datetime, at: datetime | None) -> list[Metric]:
    """Messages sent in the period and how soon the clients' were replied to (whether within the promise is
    ``table``'s). A reply counts as known at ``at`` (None: now): one stamped later (on a simulated clock) has
    not come yet. On PostgreSQL the median and the 90th percentile are the database's: no row leaves it."""
    known = at or clock.now()
    where = (Message.instance_id.in_(select(Instance.id).where(_inside(ids))), Message.sent_at >= start,
             Message.sent_at < end, before(Message.sent_at, at))
    client = Message.sender == "client"
    replied = and_(client, Message.replied_at.is_not(None), Message.replied_at < known)
    if db.engine.dialect.name == "postgresql":
        hours = case((replied, func.extract("epoch", Message.replied_at - Message.sent_at) / 3600))
        asked, replies, n, median, p90 = db.session.execute(select(
            func.count(case((client, 1))), func.count(case((~client, 1))), func.count(hours),
            func.percentile_cont(0.5).within_group(hours), func.percentile_disc(0.9).within_group(hours))
            .where(*where)).one()
    else:
        rows = db.session.execute(select(Message.sender, Message.sent_at, Message.replied_at).where(*where)).all()
        times = sorted((r.replied_at - r.sent_at).total_seconds() / 3600 for r in rows
                       if r.sender == "client" and r.replied_at and r.replied_at < known)
        asked, replies, n = sum(r.sender == "client" for r in rows), sum(r.sender != "client" for r in rows), len(times)
        median, p90 = statistics.median(times) if times else None, _percentile(times, 90)
    return [Metric("messages", asked, asked), Metric("replies", replies, asked + replies),
            Metric("reply_median_hours", float(median) if median is not None else None, n),
            Metric("reply_p90_hours", float(p90) if p90 is not None else None, n)]


def _percentile(values: list[float], p: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least p % of the values at or below it."""
    if not values:
        return None
    rank = max(1, -(-len(values) * p // 100))
    return values[int(rank) - 1]


def _proms(ids: list[int] | None, start: datetime, end: datetime, at: datetime | None) -> dict[str, Outcome]:
    """Each PROM scale: first against last answer, per instance (its client stays unnamed), answered in the period."""
    answers: dict[str, dict[int, list[float]]] = {}
    for name, instance_id, value in db.session.execute(
            select(Score.name, Score.instance_id, Score.value)
            .where(Score.kind == "prom", Score.at >= start, Score.at < end, before(Score.at, at),
                   _inside(ids, Score.version_id))
            .order_by(Score.at, Score.id)):
        answers.setdefault(name, {}).setdefault(instance_id, []).append(value)
    found = {}
    for name, by_instance in sorted(answers.items()):
        twice = [values for values in by_instance.values() if len(values) >= 2]
        if twice:
            found[name] = Outcome(len(twice), statistics.fmean(v[0] for v in twice),
                                  statistics.fmean(v[-1] for v in twice))
    return found


def _work(ids: list[int] | None, start: datetime, end: datetime, at: datetime | None) -> list[Metric]:
    """The care team's tasks done in the period and the median time from a task's opening to its completion."""
    where = (_inside(ids, HumanTask.version_id), HumanTask.audience == "professional",
             HumanTask.state == "completed", HumanTask.completed_at >= start, HumanTask.completed_at < end,
             before(HumanTask.completed_at, at))
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


def _reminders(ids: list[int] | None, start: datetime, end: datetime, at: datetime | None) -> list[Metric]:
    """Reminders sent in the period, and the share of the reminded tasks answered after their reminder."""
    answered_after = and_(HumanTask.state == "completed", HumanTask.completed_at >= Notification.created_at,
                          before(HumanTask.completed_at, at))
    sent, about_tasks, after = db.session.execute(
        select(func.count(), func.count(Notification.task_id), func.sum(case((answered_after, 1), else_=0)))
        .select_from(Notification).outerjoin(HumanTask, HumanTask.id == Notification.task_id)
        .where(Notification.instance_id.in_(select(Instance.id).where(_inside(ids))),
               Notification.kind == "reminder", Notification.created_at >= start,
               Notification.created_at < end, before(Notification.created_at, at))).one()
    return [Metric("reminders_sent", sent or 0, sent or 0),
            Metric("answered_after_reminder", 100 * (after or 0) / about_tasks if about_tasks else None,
                   about_tasks or 0)]


def _content(scope: Scope, pathway_of: dict[int, str], start: datetime, end: datetime,
             at: datetime | None) -> dict[str, int]:
    """Views per page in the period (see ``views``), by the page's title. A pathway's are counted by its key,
    one version's through its instances."""
    where = None if scope.version_id is None else \
        ContentView.instance_id.in_(select(Instance.id).where(Instance.version_id == scope.version_id))
    named = titles(list(pathway_of))
    found: dict[str, int] = {}
    for _key, _period, page, n in views([start, end], sorted(set(pathway_of.values())), where, by_page=True, at=at):
        found[named.get(page, page)] = found.get(named.get(page, page), 0) + n
    return dict(sorted(found.items()))
