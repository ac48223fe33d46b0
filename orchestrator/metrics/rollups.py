"""Rollups: the dashboards' metrics counted per version, local day and metric, kept up to date from the rows.

A *family* counts one kind of row (instances started, instances ended, forms asked, the team's work, messages,
scores, content views, reminders) into ``MetricDay`` rows: for a version and the local day the counted thing
began, a metric's count or sum, split by the day its outcome became known (a form answered, a message replied
to), so "as known at the end of a day" is a sum as well. Durations (reply times, handling times) are kept as
histograms: bucket *b* ≥ 1 holds the times within half a step of 1.001^(b−1) minutes, bucket 0 those under a
minute. A median or percentile read from them is approximate: within 0.05 % of the exact one, about two minutes
in 68 hours (and under a minute counts as 0), which the hours shown to a tenth do not show. A day holds at most
as many buckets as it has different times: some 9,000 between a minute and a week. Everything else is exact.

The share of clients answering regularly is per client, so it cannot be a sum of days: ``MetricClient`` keeps each
client's answered and decided forms per pathway and quarter, and the number of clients deciding and answering
regularly per quarter is kept beside it as two more ``MetricDay`` metrics. PROM outcomes (a client's first and
last answer to a scale) are per client too: ``proms`` keeps them so.

*Up to date*: ``catch_up`` finds the cells (a version and a day) whose rows were written since it last ran,
by the rows' own times (a step stamps what it writes with its moment), and counts those cells again from
their rows; a cell is small (one version's day), so this costs what was written, not the history. It looks
back ``MARGIN`` further than its last run, for a transaction that was still open then, and takes the next
run's place when another process is already counting. The scheduler runs it on every pass, and a dashboard
before it reads. A move of instances to another version marks its pathway, whose cells are then counted again
whole. ``rebuild`` counts everything again from the rows (``flask metrics rebuild``): the same queries over
every cell, so both give the same numbers (tests/test_rollups.py holds them to it).
"""

import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (
    Date,
    Integer,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    true,
)

from .. import clock
from ..core.database import write
from ..extensions import db
from ..models import (
    ContentView,
    HumanTask,
    Instance,
    Message,
    MetricClient,
    MetricDay,
    MetricProm,
    Notification,
    Pathway,
    PathwayVersion,
    RollupMark,
    Score,
)
from . import proms
from .asked import REGULAR, answered, asked, decided
from .values import DETRACTOR, PROMOTER

log = logging.getLogger(__name__)
COUNTED = "counted"  # the mark of the moment the rollups were last brought up to date
STALE = "stale:"  # a mark per pathway whose cells are all to be counted again
MARGIN = timedelta(minutes=2)  # how much further back than its last run a run looks
STEP = 1.001  # a histogram bucket's width, as a ratio: a time read from it is within 0.05 %
LOCK_ID = 72_710_105  # PostgreSQL advisory lock: one process counts at a time
CELLS_AT_ONCE = 50
COLUMNS = ("version_id", "pathway_key", "day", "metric", "known", "label", "bucket", "value")


# ------------------------------------------------------------------------------------------------ SQL helpers


def zone() -> str:
    """The service's zone: days are its days."""
    return current_app.config["POLKU_TIME_ZONE"]


def _pg() -> bool:
    return db.engine.dialect.name == "postgresql"


def _zone_sql():
    """The zone as an SQL literal, not a parameter: a grouped query names the same expression twice."""
    name = str(ZoneInfo(zone()))  # a zone name ZoneInfo knows: letters, digits, "/", "_", "+", "-"
    return literal_column("'" + name.replace("'", "") + "'")


def local_day(column):
    """The local day (in the service's zone) of a UTC time column, in SQL."""
    if _pg():
        return func.date(func.timezone(_zone_sql(), column))
    return func.polku_day(column, _zone_sql())


def local_quarter(column):
    """The first day of the local quarter of a UTC time column, in SQL."""
    if _pg():
        return cast(func.date_trunc("quarter", func.timezone(_zone_sql(), column)), Date)
    return func.polku_quarter(column, _zone_sql())


def seconds_between(later, earlier):
    if _pg():
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def bucket_sql(seconds):
    if _pg():
        return case((seconds < 60, 0),
                    else_=cast(1 + func.round(func.ln(seconds / 60.0) / math.log(STEP)), Integer))
    return func.polku_bucket(seconds)


def bucket(seconds: float | None) -> int:
    """A duration's histogram bucket (see the module's docstring); SQLite calls this, PostgreSQL has its own."""
    if seconds is None or seconds < 60:
        return 0
    return 1 + round(math.log(seconds / 60) / math.log(STEP))


def hours(bucket_index: int) -> float:
    """The duration a bucket stands for, in hours."""
    return 0.0 if bucket_index <= 0 else STEP ** (bucket_index - 1) / 60


def as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def midnight(day: date) -> datetime:
    """The moment a local day begins."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone()))


def _day_range(column, day: date):
    return and_(column >= midnight(day), column < midnight(day + timedelta(days=1)))


# ------------------------------------------------------------------------------------------------- families


@dataclass(frozen=True)
class Part:
    """One metric a family counts: its rows (``where``), what each adds (``value``, 1 by default), when its
    outcome was known (``known``: a time column; None: when the row began), its label and bucket."""

    metric: str
    where: tuple = ()
    value: object = None
    known: object = None
    bucket: object = None
    label: object = None


@dataclass(frozen=True)
class Family:
    """A kind of row counted into rollups: its table(s), whose it is (``owner``: a version id column, or the
    pathway key for content views), when a row began (``began``), its parts, and its times that change when it
    is written (to find what to count again)."""

    name: str
    source: Callable[[], object]  # the FROM clause
    owner: Callable[[], object]
    began: Callable[[], object]
    where: Callable[[], tuple]
    parts: Callable[[], tuple[Part, ...]]
    changed: Callable[[], tuple]  # time columns: a row with one of them in the window was written then
    by_pathway: bool = False

    @property
    def metrics(self) -> list[str]:
        return [p.metric for p in self.parts()]


def _client():
    return Message.sender == "client"


def _settled():
    """When a promise (a client's message's reply-by time) was kept or broken: at the reply, if it came first,
    else at the reply-by time."""
    return case((and_(Message.replied_at.is_not(None), Message.replied_at < Message.reply_by), Message.replied_at),
                else_=Message.reply_by)


def _message_parts(now: datetime) -> tuple[Part, ...]:
    replied = (Message.replied_at.is_not(None), Message.replied_at < now)
    return (Part("messages", (_client(),)), Part("replies", (~_client(),)),
            Part("promises", (_client(), Message.reply_by.is_not(None), _settled() < now), known=_settled()),
            Part("kept", (_client(), Message.reply_by.is_not(None), *replied, Message.replied_at <= Message.reply_by),
                 known=Message.replied_at),
            Part("reply_hours", (_client(), *replied), known=Message.replied_at,
                 bucket=bucket_sql(seconds_between(Message.replied_at, Message.sent_at))))


def families(now: datetime) -> list[Family]:
    """Every family, as known at ``now`` (a client's message is replied to, or its promise settled, once the
    moment has passed; everything else counts as it is recorded)."""
    nps, ces = Score.kind == "nps", Score.kind == "ces"
    return [
        Family("started", lambda: Instance, lambda: Instance.version_id, lambda: Instance.created_at, lambda: (),
               lambda: (Part("started"),), lambda: (Instance.updated_at,)),
        Family("ended", lambda: Instance, lambda: Instance.version_id, lambda: Instance.ended_at,
               lambda: (Instance.ended_at.is_not(None),), lambda: (Part("ended"),), lambda: (Instance.updated_at,)),
        Family("asked", lambda: HumanTask, lambda: HumanTask.version_id, lambda: HumanTask.created_at,
               lambda: asked(None),
               lambda: (Part("answered", (HumanTask.state == "completed",), known=HumanTask.completed_at),
                        Part("decided", (HumanTask.state.in_(("completed", "missed")),), known=HumanTask.completed_at)),
               lambda: (HumanTask.created_at, HumanTask.completed_at)),
        Family("work", lambda: HumanTask, lambda: HumanTask.version_id, lambda: HumanTask.completed_at,
               lambda: (HumanTask.audience == "professional", HumanTask.state == "completed"),
               lambda: (Part("professional_tasks"), Part("handling_hours", bucket=bucket_sql(
                   seconds_between(HumanTask.completed_at, HumanTask.created_at)))),
               lambda: (HumanTask.completed_at,)),
        Family("messages", lambda: Message.__table__.join(Instance.__table__, Instance.id == Message.instance_id),
               lambda: Instance.version_id, lambda: Message.sent_at, lambda: (), lambda: _message_parts(now),
               lambda: (Message.sent_at, Message.replied_at, Message.reply_by)),
        Family("scores", lambda: Score, lambda: Score.version_id, lambda: Score.at,
               lambda: (Score.kind.in_(("nps", "ces")),),
               lambda: (Part("nps_n", (nps,)), Part("promoters", (nps, Score.value >= PROMOTER)),
                        Part("detractors", (nps, Score.value <= DETRACTOR)), Part("ces_n", (ces,)),
                        Part("ces_sum", (ces,), value=Score.value)),
               lambda: (Score.at,)),
        Family("views", lambda: ContentView, lambda: ContentView.pathway_key, lambda: ContentView.at, lambda: (),
               lambda: (Part("views"),), lambda: (ContentView.at,), by_pathway=True),
        Family("reminders",
               lambda: Notification.__table__.join(Instance.__table__, Instance.id == Notification.instance_id)
               .outerjoin(HumanTask.__table__, HumanTask.id == Notification.task_id),
               lambda: Instance.version_id, lambda: Notification.created_at,
               lambda: (Notification.kind == "reminder",),
               lambda: (Part("reminders_sent"), Part("about_tasks", (Notification.task_id.is_not(None),)),
                        Part("answered_after", (HumanTask.state == "completed",
                                                HumanTask.completed_at >= Notification.created_at),
                             known=HumanTask.completed_at)),
               lambda: (Notification.created_at, HumanTask.completed_at)),
    ]


def _rows(family: Family, restrict) -> list:
    """The family's rollup rows for the cells ``restrict`` selects, as SELECTs of ``COLUMNS``."""
    if family.name == "views":
        return [_views(restrict)]
    found = []
    for part in family.parts():
        inner = (select(family.owner().label("v"), local_day(family.began()).label("d"),
                        local_day(func.coalesce(part.known, family.began()) if part.known is not None
                                  else family.began()).label("k"),
                        (part.label if part.label is not None else literal("")).label("l"),
                        (part.bucket if part.bucket is not None else literal(0)).label("b"),
                        (part.value if part.value is not None else literal(1)).label("x"))
                 .select_from(family.source()).where(*family.where(), *part.where, restrict).subquery())
        found.append(select(inner.c.v, literal(""), inner.c.d, literal(part.metric), inner.c.k, inner.c.l, inner.c.b,
                            func.sum(inner.c.x))
                     .group_by(inner.c.v, inner.c.d, inner.c.k, inner.c.l, inner.c.b))
    return found


def _views(restrict):
    """Content views: one per person, page and local day, however often reloaded (see ``views``)."""
    viewer = func.coalesce(ContentView.viewer, ContentView.role + ":" + cast(ContentView.instance_id, db.String))
    each = select(ContentView.pathway_key.label("p"), viewer.label("w"), ContentView.page.label("l"),
                  local_day(ContentView.at).label("d")).where(restrict).subquery()
    first = select(each.c.p, each.c.w, each.c.l, each.c.d).distinct().subquery()
    return (select(literal(0), first.c.p, first.c.d, literal("views"), first.c.d, first.c.l, literal(0), func.count())
            .group_by(first.c.p, first.c.d, first.c.l))


def _count(family: Family, cells: list[tuple], versions: list[int] | None = None,
           days: tuple[date, date] | None = None) -> None:
    """Count the family's ``cells`` ((owner, day) pairs) again, or every cell of ``versions``, or of the days
    [first, after) ``days`` gives, or (all None) all of it."""
    owned = MetricDay.pathway_key if family.by_pathway else MetricDay.version_id
    gone = delete(MetricDay).where(MetricDay.metric.in_(family.metrics))
    if versions is not None:
        restricts = [family.owner().in_(versions)]
        gones = [gone.where(owned.in_(versions))]
    elif days is not None:
        restricts = [and_(family.began() >= midnight(days[0]), family.began() < midnight(days[1]))]
        gones = [gone.where(MetricDay.day >= days[0], MetricDay.day < days[1])]
    elif cells:
        batches = [cells[i:i + CELLS_AT_ONCE] for i in range(0, len(cells), CELLS_AT_ONCE)]
        restricts = [or_(*(and_(family.owner() == owner, _day_range(family.began(), day)) for owner, day in batch))
                     for batch in batches]
        gones = [gone.where(or_(*(and_(owned == owner, MetricDay.day == day) for owner, day in batch)))
                 for batch in batches]
    else:
        restricts, gones = [true()], [gone]
    for statement in gones:
        db.session.execute(statement)
    for restrict in restricts:
        for rows in _rows(family, restrict):
            db.session.execute(insert(MetricDay).from_select(list(COLUMNS), rows))


def _written(since: datetime, until: datetime, now: datetime) -> set:
    """The time columns (of every family) that have a row written between ``since`` and ``until``: one query
    of index probes, so that a run with nothing to count costs one round trip."""
    columns = list({str(c): c for family in families(now) for c in family.changed()}.values())
    found = db.session.execute(select(*(exists().where(c >= since, c <= until) for c in columns))).one()
    return {str(c) for c, written in zip(columns, found, strict=True) if written}


def _touched(family: Family, since: datetime, until: datetime, written: set) -> list[tuple]:
    """The cells whose rows were written between ``since`` and ``until`` (by their own times): one query per
    time column that has such rows, each a range of its index."""
    found = set()
    for column in family.changed():
        if str(column) not in written:
            continue
        inner = (select(family.owner().label("o"), local_day(family.began()).label("d"))
                 .select_from(family.source())
                 .where(column >= since, column <= until, family.began().is_not(None), *family.where()).subquery())
        rows = db.session.execute(select(inner.c.o, inner.c.d).distinct())
        found.update((owner, as_date(day)) for owner, day in rows)
    return sorted(found)


# ------------------------------------------------------------------------------------------ clients, quarterly


def _client_counts(where) -> list:
    """(pathway key, quarter, instance, answered, decided) of the forms asked (see ``asked``)."""
    inner = (select(HumanTask.pathway_key.label("p"), local_quarter(HumanTask.created_at).label("q"),
                    HumanTask.instance_id.label("i"), answered().label("a"), decided().label("d"))
             .where(*asked(None), where).subquery())
    return select(inner.c.p, inner.c.q, inner.c.i, func.sum(inner.c.a), func.sum(inner.c.d)) \
        .group_by(inner.c.p, inner.c.q, inner.c.i)


def _regular(answered_n: int, decided_n: int) -> tuple[int, int]:
    """(deciding, answering regularly) for one client's counts: 0 or 1 each."""
    return int(decided_n > 0), int(decided_n > 0 and answered_n >= REGULAR * decided_n)


def _count_clients(since: datetime, until: datetime) -> None:
    """Count again the clients whose forms were written in the window, and move the
    quarter's numbers of clients deciding and answering regularly by what changed."""
    written = or_(and_(HumanTask.created_at >= since, HumanTask.created_at <= until),
                  and_(HumanTask.completed_at >= since, HumanTask.completed_at <= until))
    instances = sorted(set(db.session.scalars(select(HumanTask.instance_id).where(*asked(None), written))))
    if not instances:
        return
    fresh = {(p, as_date(q), i): (int(a or 0), int(d or 0)) for p, q, i, a, d in db.session.execute(
        _client_counts(HumanTask.instance_id.in_(instances))) if d}  # a client none of whose forms was decided: no row
    move(MetricClient, CLIENT_FIELDS, fresh, stored(MetricClient, CLIENT_FIELDS, instances), CLIENT_METRICS,
         lambda counts: _regular(*counts) if counts else (0, 0), lambda _key: "")


CLIENT_FIELDS = ("answered", "decided")
CLIENT_METRICS = ("clients_deciding", "clients_regular")


def _recount_clients(first: date, after: date) -> None:
    """The clients' counts of the quarters in [first, after) again, and those quarters' numbers of clients from
    them, in the database."""
    c = MetricClient
    clear(c, CLIENT_METRICS, lambda quarter: and_(quarter >= first, quarter < after))
    counts = _client_counts(and_(HumanTask.created_at >= midnight(first),
                                 HumanTask.created_at < midnight(after))).subquery()
    db.session.execute(insert(c).from_select(["pathway_key", "quarter", "instance_id", *CLIENT_FIELDS],
                                             select(*counts.c).where(counts.c[4] > 0)))
    for metric, where in zip(CLIENT_METRICS, (c.decided > 0, and_(c.decided > 0, c.answered >= REGULAR * c.decided)),
                             strict=True):
        db.session.execute(insert(MetricDay).from_select(list(COLUMNS), select(
            literal(0), c.pathway_key, c.quarter, literal(metric), c.quarter, literal(""), literal(0), func.count())
            .where(where, c.quarter >= first, c.quarter < after).group_by(c.pathway_key, c.quarter)))


# A client's quarterly row (``MetricClient``, ``MetricProm``): keyed (pathway key, quarter, instance, …), its
# values in the fields named; the quarter's numbers of such clients kept beside them as ``MetricDay`` rows.


def stored(model, fields: tuple[str, ...], instances: list[int]) -> dict[tuple, tuple]:
    """The quarterly rows of these instances: key → the values of ``fields``."""
    keys = [column.name for column in model.__table__.primary_key.columns]
    return {tuple(getattr(row, k) for k in keys): tuple(getattr(row, f) for f in fields)
            for row in db.session.scalars(select(model).where(model.instance_id.in_(instances)))}


def move(model, fields: tuple[str, ...], fresh: dict[tuple, tuple], old: dict[tuple, tuple], metrics: tuple[str, ...],
         outcome: Callable[[tuple | None], tuple], label: Callable[[tuple], str]) -> None:
    """Write each quarterly row that ``fresh`` has other than ``old`` (absent from ``fresh``: no row), and move
    the quarter's ``metrics`` (labelled ``label(key)``) by what the client's ``outcome`` adds now less what it
    added before."""
    keys = [column.name for column in model.__table__.primary_key.columns]
    moved: dict[tuple, float] = defaultdict(float)
    for key in set(fresh) | set(old):
        before, after = old.get(key), fresh.get(key)
        if before == after:
            continue
        if before is None:
            db.session.add(model(**dict(zip(keys, key, strict=True)), **dict(zip(fields, after, strict=True))))
        elif after is None:
            db.session.delete(db.session.get(model, key))
        else:
            row = db.session.get(model, key)
            for name, value in zip(fields, after, strict=True):
                setattr(row, name, value)
        for metric, was, now in zip(metrics, outcome(before), outcome(after), strict=True):
            moved[(key[0], key[1], label(key), metric)] += now - was
    db.session.flush()
    for (pathway, quarter, labelled, metric), change in sorted(moved.items()):
        if change:
            add(MetricDay(version_id=0, pathway_key=pathway, day=quarter, metric=metric, known=quarter,
                          label=labelled, bucket=0, value=change))


def clear(model, metrics: tuple[str, ...], quarters: Callable) -> None:
    """No quarterly rows, and none of the quarters' ``metrics``, where ``quarters(column)`` holds."""
    db.session.execute(delete(model).where(quarters(model.quarter)))
    db.session.execute(delete(MetricDay).where(MetricDay.metric.in_(metrics), quarters(MetricDay.day)))


def outside(spans: list[tuple[date, date]]) -> Callable:
    """A day column's days before the first span and from the end of the last (all days without spans)."""
    return lambda column: or_(column < spans[0][0], column >= spans[-1][1]) if spans else true()


def add(row: MetricDay) -> None:
    found = db.session.get(MetricDay, (row.version_id, row.pathway_key, row.day, row.metric, row.known, row.label,
                                       row.bucket))
    if found is None:
        db.session.add(row)
    elif found.value + row.value == 0:
        db.session.delete(found)
    else:
        found.value += row.value
    db.session.flush()


# ---------------------------------------------------------------------------------------- keeping up to date


def init(app) -> None:
    """Let the timer scheduler keep the rollups up to date, at most every ``EVERY`` seconds a process (a
    dashboard brings them up to date before it reads in any case)."""
    app.extensions.setdefault("polku_each_run", []).append(_each_run)


EVERY = 30.0


def _each_run(_began: datetime) -> None:
    state = current_app.extensions.setdefault("polku_rollups", {"last": -EVERY})
    if time.monotonic() - state["last"] < EVERY:
        return
    state["last"] = time.monotonic()
    try:
        catch_up()
    except Exception:  # noqa: BLE001 - the timers and the outbox go on; the next run counts this one's window too
        log.exception("bringing the metrics' rollups up to date failed; the next run tries again")


def catch_up() -> bool:
    """Bring the rollups up to date (see the module's docstring); False when another process is at it (its
    run counts what this one would have). The first run, on rollups never counted, counts them all
    (``rebuild``)."""
    with write():
        if _pg() and not db.session.execute(select(func.pg_try_advisory_xact_lock(LOCK_ID))).scalar():
            return False
        now = clock.now()
        marks = {m.name: m for m in db.session.scalars(select(RollupMark))}
        if COUNTED in marks:
            since, until = marks[COUNTED].at - MARGIN, max(now, marks[COUNTED].at)
            written = _written(since, until, now)
            for family in families(now) if written else ():
                cells = _touched(family, since, until, written)
                if cells:
                    _count(family, cells)
            if written & {str(HumanTask.created_at), str(HumanTask.completed_at)}:
                _count_clients(since, until)
            if str(Score.at) in written:
                proms.count_changed(since, until)
            for name, mark in marks.items():
                if name.startswith(STALE):
                    _count_pathway(name[len(STALE):], now)
                    db.session.delete(mark)
            _mark(COUNTED, now)
            return True
    rebuild()
    return True


def rebuild() -> None:
    """Count every rollup again from the rows: a month of one family at a time, each in a transaction of its
    own, so that on SQLite a step waits for one month's counting at most, not for all of it. What is written
    meanwhile is counted again by the next ``catch_up``: the mark is the moment the counting began."""
    began = clock.now()
    for family in families(began):
        spans = months(family.began(), family.source(), family.where())
        with write():
            _lock()
            db.session.execute(delete(MetricDay).where(MetricDay.metric.in_(family.metrics),
                                                       outside(spans)(MetricDay.day)))
        for days in spans:
            with write():
                _lock()
                _count(family, [], days=days)
    for model, metrics, spans, recount in (
            (MetricClient, CLIENT_METRICS, months(HumanTask.created_at, HumanTask, asked(None), by=3),
             _recount_clients),
            (MetricProm, proms.METRICS, proms.quarters(), proms.recount)):
        with write():
            _lock()
            clear(model, metrics, outside(spans))
        for first, after in spans:
            with write():
                _lock()
                recount(first, after)
    with write():
        _lock()
        db.session.execute(delete(RollupMark).where(RollupMark.name.like(STALE + "%"), RollupMark.at < began))
        _mark(COUNTED, began)


def _lock() -> None:
    """One process counts at a time (PostgreSQL; SQLite has one writer anyway): until the transaction ends."""
    if _pg():
        db.session.execute(select(func.pg_advisory_xact_lock(LOCK_ID)))


def months(column, source, where, by: int = 1) -> list[tuple[date, date]]:
    """The local months (or quarters, ``by=3``) from the first to the last time in ``column``, as [first day,
    first day after)."""
    low, high = db.session.execute(select(func.min(column), func.max(column)).select_from(source)
                                   .where(*where)).one()
    if low is None:
        return []
    tz = ZoneInfo(zone())
    low, high = low.astimezone(tz).date(), high.astimezone(tz).date()
    found, day = [], date(low.year, (low.month - 1) // by * by + 1, 1)
    while day <= high:
        month = day.month - 1 + by
        after = date(day.year + month // 12, month % 12 + 1, 1)
        found.append((day, after))
        day = after
    return found


def stale(pathway_key: str) -> None:
    """Mark a pathway's cells to be counted again whole (its instances moved between its versions); inside the
    caller's write."""
    _mark(STALE + pathway_key, clock.now())


def _count_pathway(key: str, now: datetime) -> None:
    versions = list(db.session.scalars(select(PathwayVersion.id).join(Pathway).where(Pathway.key == key)))
    for family in families(now):
        if not family.by_pathway:
            _count(family, [], versions)


def _mark(name: str, at: datetime) -> None:
    found = db.session.get(RollupMark, name)
    if found is None:
        db.session.add(RollupMark(name=name, at=at))
    else:
        found.at = at


# -------------------------------------------------------------------------------------------------- reading


def read(versions: Iterable[int], keys: Iterable[str], first: date, after: date, metrics: Iterable[str],
         known_by: date | None = None, by_period: list[date] | None = None, labels: bool = False,
         buckets: bool = False) -> list:
    """Summed rollups of ``metrics`` for days in [first, after): rows of (version id, pathway key, period index,
    metric, [label,] [bucket,] value); a version's rows have pathway key "", a pathway's version id 0. The period
    is the index among ``by_period`` (day boundaries; None: one period, index 0); ``known_by``: only what was
    known by the end of that day."""
    owner = or_(MetricDay.version_id.in_(list(versions)),
                and_(MetricDay.version_id == 0, MetricDay.pathway_key.in_(list(keys))))
    edges = by_period or [first, after]
    period = case(*[(and_(MetricDay.day >= a, MetricDay.day < b), i)
                    for i, (a, b) in enumerate(zip(edges, edges[1:], strict=False))], else_=None)
    group = [MetricDay.version_id, MetricDay.pathway_key, period, MetricDay.metric,
             *([MetricDay.label] if labels else []), *([MetricDay.bucket] if buckets else [])]
    query = (select(*group, func.sum(MetricDay.value))
             .where(owner, MetricDay.metric.in_(list(metrics)), MetricDay.day >= first, MetricDay.day < after,
                    true() if known_by is None else MetricDay.known <= known_by)
             .group_by(*group))
    return db.session.execute(query).all()


def day_of(moment: datetime) -> date:
    """The local day a period boundary falls on: periods are whole days (a boundary within a day stands for the
    midnight that begins it)."""
    return moment.astimezone(ZoneInfo(zone())).date()


def until(last: date, at: datetime | None) -> date:
    """The first day not counted: ``last``, or the day after what is known at ``at`` if that is sooner."""
    return last if at is None else min(last, known_by(at) + timedelta(days=1))


def known_by(at: datetime | None) -> date | None:
    """The last day whose outcomes count as known at ``at`` (None: all): the day before a midnight, else the
    day ``at`` falls on."""
    if at is None:
        return None
    local = at.astimezone(ZoneInfo(zone()))
    return local.date() - timedelta(days=1) if local.time() == datetime.min.time() else local.date()


def quantile(histogram: dict[int, float], p: float, nearest_rank: bool = False) -> float | None:
    """The ``p``-quantile (0–1) of durations in hours from a histogram (bucket → count): interpolated between
    the two nearest like PostgreSQL's percentile_cont, or the nearest rank (percentile_disc)."""
    n = int(sum(histogram.values()))
    if not n:
        return None
    values = sorted(histogram.items())

    def at_rank(rank: int) -> float:  # the rank-th smallest (1-based)
        seen = 0
        for index, count in values:
            seen += count
            if seen >= rank:
                return hours(index)
        return hours(values[-1][0])

    if nearest_rank:
        return at_rank(max(1, math.ceil(n * p)))
    position = p * (n - 1)
    low, high = math.floor(position), math.ceil(position)
    return at_rank(low + 1) + (at_rank(high + 1) - at_rank(low + 1)) * (position - low)
