"""Many metric values at once: every pathway's for the overview, or one pathway's per week, month or quarter.

The one place the dashboard's metrics (``KEYS``) are counted: ``metrics.report`` takes them from here
for its one scope and period. They are counted in one grouped query per kind of row (grouped by version
and by period), so a dashboard costs a handful of queries however many pathways and periods it shows.
Periods are a CASE over their boundaries: the same SQL runs on SQLite and PostgreSQL. Counted as known now,
or as known at a moment (``at``): a row whose time is later (a client who started, an answer, a reply, a view
after it) is left out.
"""

from collections import defaultdict
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select

from .. import clock
from ..extensions import db
from ..models import HumanTask, Instance, Message, PathwayVersion, Score
from .asked import answered, asked, decided
from .periods import before, which
from .values import DETRACTOR, PROMOTER, Metric, nps_score
from .views import views

KEYS = ("clients_started", "clients_active", "clients_ended", "response_rate", "within_promise", "nps", "ces",
        "content_views")


def table(edges: list[datetime], pathway_of: dict[int, str], goals: dict[str, dict],
          also: dict[str, list[str]] | None = None, at: datetime | None = None) -> dict[tuple[str, int], dict]:
    """Metric values (``KEYS``) by (pathway key, period index) for the periods between ``edges``, over the
    versions in ``pathway_of`` (version id → pathway key); ``goals`` by pathway key. ``also`` adds each
    pathway's numbers to more groups (pathway key → group keys, e.g. a total, or all of one kind). A group
    named in ``goals`` has its rows even if none of its versions is given (nothing counted: zeros and Nones).
    ``at``: as known at that moment, counting only what was recorded before it (None: as known now)."""
    counts: dict[tuple[str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    versions, also = sorted(pathway_of), also or {}
    into = {key: {key, *also.get(key, [])} for key in set(pathway_of.values())}
    groups = sorted(set(goals).union(*into.values()))
    for family in (_clients, _answers, _messages, _scores, _views):
        for key, period, name, value in family(edges, versions, pathway_of, at):
            for group in into[key]:
                counts[(group, period)][name] += value or 0
    since = _first_deployed(versions, pathway_of)
    found = {(key, period): _metrics(counts.get((key, period), {}),
                                     goals.get(key) or {} if edges[period + 1] > since.get(key, edges[0]) else {})
             for key in groups for period in range(len(edges) - 1)}
    _active(found, edges, pathway_of, versions, into, at)
    return found


def _first_deployed(versions: list[int], pathway_of: dict[int, str]) -> dict[str, datetime]:
    """When each pathway's first version (of those given) was deployed: a period that ended by then has no
    target, so no light (a pathway is not behind its target before it existed)."""
    first: dict[str, datetime] = {}
    for version, at in db.session.execute(select(PathwayVersion.id, PathwayVersion.deployed_at)
                                          .where(PathwayVersion.id.in_(versions))):
        key = pathway_of[version]
        first[key] = min(at, first.get(key, at))
    return first


def _grouped(version_column, time_column, edges, versions, pathway_of, *values, where=(), at=None):
    """Rows of (pathway key, period, values…), grouped in the database by version and period; only rows whose
    time is before ``at`` (None: all)."""
    period = which(time_column, edges)
    query = (select(version_column, period, *values)
             .where(version_column.in_(versions), time_column >= edges[0], time_column < edges[-1],
                    before(time_column, at), *where)
             .group_by(version_column, period))
    return [(pathway_of[version], *rest) for version, *rest in db.session.execute(query)]


def _clients(edges, versions, pathway_of, at):
    for key, period, n in _grouped(Instance.version_id, Instance.created_at, edges, versions, pathway_of,
                                   func.count(), at=at):
        yield key, period, "started", n
    for key, period, n in _grouped(Instance.version_id, Instance.ended_at, edges, versions, pathway_of, func.count(),
                                   at=at):
        yield key, period, "ended", n


def _active(found: dict, edges, pathway_of: dict[int, str], versions, into: dict[str, set[str]], at) -> None:
    """On the pathway at the end of each period (or at ``at``, if earlier): started before then and not ended
    before then, counted as those before the first period plus each period's starts and ends (two queries,
    however many periods)."""
    earlier: dict[str, float] = defaultdict(float)
    for column, sign in ((Instance.created_at, 1), (Instance.ended_at, -1)):
        rows = db.session.execute(select(Instance.version_id, func.count())
                                  .where(Instance.version_id.in_(versions), column < edges[0], before(column, at))
                                  .group_by(Instance.version_id))
        for version, n in rows:
            for group in into[pathway_of[version]]:
                earlier[group] += sign * n
    for key in set().union(*into.values()) if into else ():
        running = earlier[key]
        for i in range(len(edges) - 1):
            metrics = found[(key, i)]
            running += metrics["clients_started"].value - metrics["clients_ended"].value
            metrics["clients_active"] = Metric("clients_active", int(running), int(running),
                                               metrics["clients_active"].target)


def _answers(edges, versions, pathway_of, at):
    """The response rate's counts: what the client was asked to answer (``asked``), by when it was asked."""
    for key, period, given, done in _grouped(
            HumanTask.version_id, HumanTask.created_at, edges, versions, pathway_of, func.sum(answered(at)),
            func.sum(decided(at)), where=asked(versions), at=at):
        yield key, period, "answered", given
        yield key, period, "decided", done


def _messages(edges, versions, pathway_of, at):
    """The clients' messages and their reply-by promises, the one definition of within the promise: a promise
    is kept or broken once answered, or once its reply-by time has passed unanswered; kept when replied at
    or before its reply-by time. As known at ``at`` (None: now; a reply stamped later, on a simulated clock,
    has not come yet)."""
    known = at or clock.now()
    replied = and_(Message.replied_at.is_not(None), Message.replied_at < known)
    settled = case((and_(Message.reply_by.is_not(None), or_(replied, Message.reply_by < known)), 1), else_=0)
    kept = case((and_(Message.reply_by.is_not(None), replied, Message.replied_at <= Message.reply_by), 1), else_=0)
    values = (func.count(), func.sum(settled), func.sum(kept))
    keys = set(pathway_of.values())
    if len(keys) == 1:  # one pathway (its trends): no need to know each message's version
        (key,) = keys
        period = which(Message.sent_at, edges)
        rows = [(key, *row) for row in db.session.execute(
            select(period, *values).where(Message.instance_id.in_(select(Instance.id).where(
                Instance.version_id.in_(versions))), Message.sent_at >= edges[0], Message.sent_at < edges[-1],
                before(Message.sent_at, at), Message.sender == "client").group_by(period))]
    else:
        rows = _grouped(Instance.version_id, Message.sent_at, edges, versions, pathway_of, *values,
                        where=(Instance.id == Message.instance_id, Message.sender == "client"), at=at)
    for key, period, n, d, k in rows:
        yield key, period, "messages", n
        yield key, period, "promises", d
        yield key, period, "kept", k


def _scores(edges, versions, pathway_of, at):
    for key, period, n, promoters, detractors, ces_n, ces_sum in _grouped(
            Score.version_id, Score.at, edges, versions, pathway_of,
            func.sum(case((Score.kind == "nps", 1), else_=0)),
            func.sum(case((and_(Score.kind == "nps", Score.value >= PROMOTER), 1), else_=0)),
            func.sum(case((and_(Score.kind == "nps", Score.value <= DETRACTOR), 1), else_=0)),
            func.sum(case((Score.kind == "ces", 1), else_=0)),
            func.sum(case((Score.kind == "ces", Score.value), else_=0)),
            where=(Score.kind.in_(("nps", "ces")),), at=at):
        for name, value in (("nps_n", n), ("promoters", promoters), ("detractors", detractors), ("ces_n", ces_n),
                            ("ces_sum", ces_sum)):
            yield key, period, name, value


def _views(edges, versions, pathway_of, at):
    for key, period, n in views(edges, sorted(set(pathway_of.values())), at=at):
        yield key, period, "views", n


def _metrics(c: dict, goals: dict) -> dict[str, Metric]:
    def share(part: str, whole: str) -> float | None:
        return 100 * c.get(part, 0) / c[whole] if c.get(whole) else None

    values = {
        "clients_started": (int(c.get("started", 0)), c.get("started", 0)),
        "clients_active": (0, 0),  # filled in by _active
        "clients_ended": (int(c.get("ended", 0)), c.get("ended", 0)),
        "response_rate": (share("answered", "decided"), c.get("decided", 0)),
        "within_promise": (share("kept", "promises"), c.get("promises", 0)),
        "nps": (nps_score(c.get("promoters", 0), c.get("detractors", 0), c.get("nps_n", 0)), c.get("nps_n", 0)),
        "ces": (c["ces_sum"] / c["ces_n"] if c.get("ces_n") else None, c.get("ces_n", 0)),
        "content_views": (int(c.get("views", 0)), c.get("views", 0)),
    }
    return {key: Metric(key, value, int(basis), goals.get(key)) for key, (value, basis) in values.items()}
