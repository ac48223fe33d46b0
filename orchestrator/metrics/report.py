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
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select, true

from .. import clock
from ..extensions import db
from ..models import ContentView, HumanTask, Instance, Pathway, PathwayVersion, Score
from . import periods, proms, rollups
from .asked import REGULAR, answered, asked, decided
from .periods import before
from .tables import table
from .values import Metric
from .views import titles, views

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
    rolled = _Rolled(pathway_of, start, end, at)
    found = Report(scope, start, end, content=_content(scope, pathway_of, rolled),
                   proms=_proms(ids, pathway_of, scope, rolled), as_of=at or clock.now())
    counted = dict(table([start, end], pathway_of, {group: goals}, also, at)[(group, 0)])
    if scope.version_id is not None:
        # Views carry their pathway's key, not its version: the table counts the whole pathway's, without reading
        # an instance. One version's are its pages', read through its instances.
        views = sum(found.content.values())
        counted["content_views"] = Metric("content_views", views, views)
    for metric in (*_answering(scope, ids, rolled), *_messages(rolled), *_work(rolled), *_reminders(rolled)):
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


# What ``report`` reads of the rollups besides ``table``'s, all in one query.
ROLLED = ("messages", "replies", "reply_hours", "handling_hours", "reminders_sent", "about_tasks", "answered_after",
          "views", "clients_deciding", "clients_regular", *proms.METRICS)


@dataclass
class _Rolled:
    """The scope's rollups for the period as known at ``at`` (``ROLLED``, read once): ``sums`` and ``by``."""

    pathway_of: dict[int, str]
    start: datetime
    end: datetime
    at: datetime | None
    _found: list | None = None

    def rows(self) -> list:
        if self._found is None:
            first = rollups.day_of(self.start)
            last = rollups.until(rollups.day_of(self.end), self.at)
            self._found = rollups.read(list(self.pathway_of), set(self.pathway_of.values()), first, max(first, last),
                                       ROLLED, rollups.known_by(self.at), labels=True, buckets=True)
        return self._found

    def sums(self, *metrics: str) -> dict[str, float]:
        found = dict.fromkeys(metrics, 0.0)
        for *_, metric, _label, _bucket, value in self.rows():
            if metric in found:
                found[metric] += value or 0
        return found

    def by(self, metric: str, labels: bool = False) -> dict:
        """A metric's sums by bucket (a histogram), or by label."""
        found: dict = defaultdict(float)
        for *_, name, label, bucket, value in self.rows():
            if name == metric:
                found[label if labels else bucket] += value or 0
        return found


def _answering(scope: Scope, ids: list[int] | None, rolled: _Rolled) -> list[Metric]:
    """The share of clients with a decided form asked in the period (see ``asked``) who answered at least
    ``REGULAR`` of theirs (the response rate over all of them is ``table``'s). A pathway's quarter as known now
    is read from the rollups; another period, a moment or one version is counted in the database from the
    forms, without a row per client leaving it."""
    if rolled.at is None and scope.version_id is None and _quarter(rolled.start, rolled.end):
        counts = rolled.sums("clients_deciding", "clients_regular")  # kept on the quarter's first day
        clients, regular = int(counts["clients_deciding"]), int(counts["clients_regular"])
        return [Metric("answering_regularly", 100 * regular / clients if clients else None, clients)]
    start, end, at = rolled.start, rolled.end, rolled.at
    per_client = (select(func.sum(decided(at)).label("decided"), func.sum(answered(at)).label("given"))
                  .where(*asked(ids), HumanTask.created_at >= start, HumanTask.created_at < end,
                         before(HumanTask.created_at, at))
                  .group_by(HumanTask.instance_id).subquery())
    clients, regular = db.session.execute(
        select(func.count(), func.count(case((func.coalesce(per_client.c.given, 0)
                                               >= REGULAR * per_client.c.decided, 1))))
        .where(per_client.c.decided > 0)).one()
    return [Metric("answering_regularly", 100 * regular / clients if clients else None, clients)]


def _quarter(start: datetime, end: datetime) -> bool:
    """Whether [start, end) is one whole quarter in the service's zone."""
    first = rollups.day_of(start)
    return start == periods.day_start(first, rollups.zone()) and first.day == 1 and first.month % 3 == 1 \
        and (start, end) == periods.quarter(f"{first.year}-Q{(first.month - 1) // 3 + 1}", rollups.zone())


def _messages(rolled: _Rolled) -> list[Metric]:
    """Messages sent in the period and how soon the clients' were replied to (whether within the promise is
    ``table``'s): the median and the 90th percentile (nearest rank) from the rollups' histogram of reply
    times, within 0.05 % of the exact ones. A reply counts as known at ``at`` (None: now)."""
    counts, replies = rolled.sums("messages", "replies"), rolled.by("reply_hours")
    asked_n, answers, n = int(counts["messages"]), int(counts["replies"]), int(sum(replies.values()))
    return [Metric("messages", asked_n, asked_n), Metric("replies", answers, asked_n + answers),
            Metric("reply_median_hours", rollups.quantile(replies, 0.5), n),
            Metric("reply_p90_hours", rollups.quantile(replies, 0.9, nearest_rank=True), n)]


def _proms(ids: list[int] | None, pathway_of: dict[int, str], scope: Scope, rolled: _Rolled) -> dict[str, Outcome]:
    """Each PROM scale: first against last answer, per instance (its client stays unnamed), answered in the
    period. A pathway's quarter as known now from the rollups (``proms``); another period, a moment or one
    version from the answers."""
    if rolled.at is None and scope.version_id is None and _quarter(rolled.start, rolled.end):
        clients, firsts, lasts = (rolled.by(metric, labels=True) for metric in proms.METRICS)
        return {scale: Outcome(int(n), firsts[scale] / n, lasts[scale] / n)
                for scale, n in sorted(clients.items()) if n}
    start, end, at = rolled.start, rolled.end, rolled.at
    where = _inside(ids, Score.version_id) if scope.version_id is not None or ids is None else \
        Score.pathway_key.in_(sorted(set(pathway_of.values())))
    answers: dict[str, dict[int, list[float]]] = {}
    for name, instance_id, value in db.session.execute(
            select(Score.name, Score.instance_id, Score.value)
            .where(where, Score.kind == "prom", Score.at >= start, Score.at < end, before(Score.at, at))
            .order_by(Score.at, Score.id)):
        answers.setdefault(name, {}).setdefault(instance_id, []).append(value)
    found = {}
    for name, by_instance in sorted(answers.items()):
        twice = [values for values in by_instance.values() if len(values) >= 2]
        if twice:
            found[name] = Outcome(len(twice), statistics.fmean(v[0] for v in twice),
                                  statistics.fmean(v[-1] for v in twice))
    return found


def _work(rolled: _Rolled) -> list[Metric]:
    """The care team's tasks done in the period and the median time from a task's opening to its completion
    (from the rollups' histogram: within 0.05 %)."""
    handling = rolled.by("handling_hours")
    n = int(sum(handling.values()))
    return [Metric("professional_tasks", n, n), Metric("handling_median_hours", rollups.quantile(handling, 0.5), n)]


def _reminders(rolled: _Rolled) -> list[Metric]:
    """Reminders sent in the period, and the share of the reminded tasks answered after their reminder."""
    counts = rolled.sums("reminders_sent", "about_tasks", "answered_after")
    sent, about_tasks, after = (int(counts[k]) for k in ("reminders_sent", "about_tasks", "answered_after"))
    return [Metric("reminders_sent", sent, sent),
            Metric("answered_after_reminder", 100 * after / about_tasks if about_tasks else None, about_tasks)]


def _content(scope: Scope, pathway_of: dict[int, str], rolled: _Rolled) -> dict[str, int]:
    """Views per page in the period (see ``views``), by the page's title: a pathway's from the rollups, one
    version's through its instances."""
    named = titles(list(pathway_of))
    if scope.version_id is None:
        pages = rolled.by("views", labels=True)
    else:
        where = ContentView.instance_id.in_(select(Instance.id).where(Instance.version_id == scope.version_id))
        pages = defaultdict(float)
        for _key, _period, page, n in views([rolled.start, rolled.end], sorted(set(pathway_of.values())), where,
                                            by_page=True, at=rolled.at):
            pages[page] += n
    found: dict[str, int] = {}
    for page, n in pages.items():
        found[named.get(page, page)] = found.get(named.get(page, page), 0) + int(n)
    return dict(sorted(found.items()))
