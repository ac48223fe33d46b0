"""Read-side queries over projected rows; none of them loads a workflow."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, func, or_, select, update

from ..clock import now
from ..extensions import db
from ..models import (
    ACTIVE,
    CareTeam,
    Event,
    HumanTask,
    Instance,
    Membership,
    Notification,
    Pathway,
    PathwayVersion,
    Person,
    Timer,
    new_client_id,
)
from . import _compiled
from .database import core, found_or_made, write
from .refusal import N_, Refused
from .store import store


def pathway_or_404(key: str) -> Pathway:
    pathway = db.session.scalar(select(Pathway).where(Pathway.key == key))
    if pathway is None:
        raise Refused(404, N_("pathway '%(key)s' not found"), key=key)
    return pathway


def version_or_404(key: str, number: int | None) -> PathwayVersion:
    pathway = pathway_or_404(key)
    if number is None:
        return pathway.latest
    for version in pathway.versions:
        if version.number == number:
            return version
    raise Refused(404, N_("pathway '%(key)s' has no version %(number)s"), key=key, number=number)


def instance_or_404(instance_id: int) -> Instance:
    instance = db.session.get(Instance, instance_id)
    if instance is None:
        raise Refused(404, N_("instance %(instance)s not found"), instance=instance_id)
    return instance


def pathways() -> list[Pathway]:
    return list(db.session.scalars(select(Pathway).order_by(Pathway.key)))


def instances(pathway: str | None = None, status: str | None = None, client_id: str | None = None,
              business_key: str | None = None, limit: int = 100) -> list[Instance]:
    stmt = select(Instance).order_by(Instance.id.desc()).limit(limit)
    if pathway:
        stmt = stmt.join(Instance.version).join(PathwayVersion.pathway).where(Pathway.key == pathway)
    for column, value in ((Instance.status, status), (Instance.client_id, client_id),
                          (Instance.business_key, business_key)):
        if value:
            stmt = stmt.where(column == value)
    return list(db.session.scalars(stmt))


def running_by_business_key(business_key: str, pathway: str | None) -> list[Instance]:
    stmt = select(Instance).where(Instance.business_key == business_key, Instance.status.in_(("running",)))
    if pathway:
        stmt = stmt.join(Instance.version).join(PathwayVersion.pathway).where(Pathway.key == pathway)
    return list(db.session.scalars(stmt))


TASK_COLUMNS = HumanTask.__table__.c
TIMER_COLUMNS = Timer.__table__.c
INBOX_ORDER = (TASK_COLUMNS.due_at.is_(None), TASK_COLUMNS.due_at, TASK_COLUMNS.created_at)  # soonest due first


def tasks(state: str = "open", role: str | None = None, assignee: str | None = None, pathway: str | None = None,
          audience: str | None = None, instance: int | None = None, due_before: datetime | None = None,
          overdue: bool | None = None, limit: int = 100, offset: int = 0, within: list | None = None) -> list:
    """Tasks by filter, most urgent first, then soonest due, then oldest, among those ``within`` allows (the
    caller's own, see :func:`client_tasks` and :func:`team_tasks`). Rows, not entities: nothing here is changed."""
    c = TASK_COLUMNS
    stmt = select(HumanTask.__table__).where(*(within or []))
    if state != "all":
        stmt = stmt.where(c.state == state)
    for column, value in ((c.role, role), (c.assignee, assignee), (c.pathway_key, pathway),
                          (c.audience, audience), (c.instance_id, instance)):
        if value:
            stmt = stmt.where(column == value)
    if due_before is not None:
        stmt = stmt.where(c.due_at < due_before)
    if overdue is not None:
        late = c.due_at < now()
        stmt = stmt.where(late if overdue else or_(c.due_at.is_(None), ~late))
    stmt = stmt.order_by(c.priority.desc(), *INBOX_ORDER, c.id).offset(offset).limit(limit)
    return list(core().execute(stmt))


def client_tasks(client_id: str) -> list:
    """The conditions of a client's own tasks."""
    return [TASK_COLUMNS.audience == "client", TASK_COLUMNS.client_id == client_id]


TASK_ROW = select(HumanTask.__table__).where(TASK_COLUMNS.id == bindparam("id"))


def task_row(task_id: str):
    """One task as a row (read on the step's own prepared path: the API's hot path reads it per call)."""
    return _compiled.first(TASK_ROW, {"id": task_id})


OPEN_TASKS = (select(HumanTask.__table__).where(TASK_COLUMNS.instance_id == bindparam("instance"),
                                                TASK_COLUMNS.state == "open")
              .order_by(*INBOX_ORDER))
TIMERS = (select(Timer.__table__).where(TIMER_COLUMNS.instance_id == bindparam("instance"))
          .order_by(TIMER_COLUMNS.due_at))


def instance_tasks(instance_id: int) -> list:
    return _compiled.rows(OPEN_TASKS, {"instance": instance_id})


def instance_timers(instance_id: int) -> list:
    return _compiled.rows(TIMERS, {"instance": instance_id})


def notifications(audience: str | None = None, recipient: str | None = None, instance: int | None = None,
                  unread: bool | None = None, limit: int = 100) -> list[Notification]:
    """Newest first."""
    stmt = select(Notification).order_by(Notification.id.desc()).limit(limit)
    for column, value in ((Notification.audience, audience), (Notification.recipient, recipient),
                          (Notification.instance_id, instance)):
        if value:
            stmt = stmt.where(column == value)
    if unread is not None:
        stmt = stmt.where(Notification.read_at.is_(None) if unread else Notification.read_at.is_not(None))
    return list(db.session.scalars(stmt))


def mark_notifications_read(audience: str, recipient: str, instance_id: int) -> None:
    """The recipient opened the pathway the notifications are about: they count as read.

    Most views find nothing unread: those write nothing (and wait for no write lock)."""
    unread = (Notification.audience == audience, Notification.recipient == recipient,
              Notification.instance_id == instance_id, Notification.read_at.is_(None))
    if db.session.scalar(select(Notification.id).where(*unread).limit(1)) is None:
        return
    with write():
        db.session.execute(update(Notification).where(*unread).values(read_at=now()))


def history(instance_id: int) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.id)))


def completion_by_key(key: str) -> Event | None:
    return db.session.scalar(select(Event).where(Event.idempotency_key == key))


# --------------------------------------------------------------------------- pages


def client_instances(client_id: str) -> list[Instance]:
    """A client's instances, newest first."""
    return list(db.session.scalars(select(Instance).where(Instance.client_id == client_id)
                                   .order_by(Instance.created_at.desc(), Instance.id.desc())))


def client_open_tasks(client_id: str) -> list[HumanTask]:
    """The client's own open tasks on their running instances, soonest due first."""
    return list(db.session.scalars(
        select(HumanTask).join(Instance, Instance.id == HumanTask.instance_id)
        .where(Instance.client_id == client_id, Instance.status.in_(ACTIVE),
               HumanTask.audience == "client", HumanTask.state == "open")
        .order_by(*INBOX_ORDER)))


def instance_human_tasks(instance_id: int) -> list[HumanTask]:
    """Every task an instance has had, in the order they opened."""
    return list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)
                                   .order_by(HumanTask.created_at, HumanTask.id)))


def answers(instance_id: int) -> list[Event]:
    """The completions of an instance with their answers, oldest first."""
    return list(db.session.scalars(select(Event).where(Event.instance_id == instance_id,
                                                       Event.kind == "task_completed").order_by(Event.id)))


def completion(task_id: str) -> Event | None:
    return db.session.scalar(select(Event).where(Event.task_id == task_id, Event.kind == "task_completed"))


INBOX_PAGE = 25  # tasks on one page of the team inbox: a screen or two, and on a phone a page one scrolls through
# Most urgent first, then late and soonest due, then those without a due time; ties by age. The inbox index
# (ix_human_task_inbox) holds each part (a priority, due time or none) in this order.
PART_ORDER = (TASK_COLUMNS.due_at, TASK_COLUMNS.created_at, TASK_COLUMNS.id)


def team_inbox(teams: set[str], version_ids: list[int]) -> list:
    """The conditions of a care team's inbox: its open tasks (see :func:`team_tasks`)."""
    return [TASK_COLUMNS.state == "open", *team_tasks(teams, version_ids)]


def team_tasks(teams: set[str], version_ids: list[int]) -> list:
    """The conditions of care teams' tasks: those in the inbox of one of ``teams`` (the task's ``queue``: its
    lane, for a professional task of a client on a pathway teams follow), or naming one of them among its
    candidate groups on a version the teams follow (``version_ids``). Each is on the task's own row. Candidate
    groups are written in the pathway, so the tasks they give a team are known by version and task without
    reading each row's list (and most teams have none: the condition stays one the index answers)."""
    c = TASK_COLUMNS
    grouped = []
    for version_id in sorted(set(version_ids)):
        specs = sorted(spec for spec, meta in store().info(version_id).task_meta.items()
                       if set(meta.get("candidate_groups") or []) & teams
                       and (meta.get("lane") or meta["candidate_groups"][0]) not in teams)
        if specs:
            grouped.append(and_(c.version_id == version_id, c.spec.in_(specs)))
    in_groups = [and_(c.queue.is_not(None), or_(*grouped))] if grouped else []
    return [or_(c.queue.in_(sorted(teams)), *in_groups)]


def client_matches(query: str):
    """A task of a client found by internal id or by a part of their name. The names are matched first, so that
    each task is checked against a list, not a query."""
    query = query.strip()
    named = db.session.scalars(select(Person.client_id).where(
        Person.client_id.is_not(None), Person.name.ilike(f"%{_like(query)}%", escape="\\")))
    return TASK_COLUMNS.client_id.in_(sorted({query, *named}))


def client_id_by_code(code: str) -> str | None:
    """The internal id of whoever has this personal identity code (as stored: compact, upper case)."""
    return db.session.scalar(select(Person.client_id).where(Person.personal_identity_code == code))


@dataclass(frozen=True)
class Tally:
    """What an inbox holds: its tasks in all, ``me``'s and the late ones; and of those the filters chosen show,
    how many and how many each priority has with a due time and without one (the parts a page is read from,
    in order)."""

    all: int
    mine: int
    overdue: int
    shown: int
    parts: list[tuple[int, bool, int]]  # (priority, has a due time, tasks shown), most urgent part first


def inbox_tally(where: list, filters: list, me: str, at: datetime) -> Tally:
    """Counted from the indexes alone, each count reading only what it counts where it can: the inbox by
    priority (every task), the late ones (a range of each priority's due times), ``me``'s (by assignee)."""
    c = TASK_COLUMNS
    every = _by_priority(where)
    shown = _by_priority(where + filters) if filters else every
    late = _count(where + [c.priority.in_([p for p, _, _ in every]), c.due_at < at]) if every else 0
    parts = [part for priority, n, due in shown for part in ((priority, True, due), (priority, False, n - due))]
    return Tally(all=sum(n for _, n, _ in every), mine=_count(where + [c.assignee == me]), overdue=late,
                 shown=sum(n for _, n, _ in shown), parts=[part for part in parts if part[2]])


def _by_priority(where: list) -> list[tuple[int, int, int]]:
    """(priority, tasks, of them with a due time), most urgent first."""
    c = TASK_COLUMNS
    return [tuple(row) for row in core().execute(select(c.priority, func.count(), func.count(c.due_at))
                                                 .where(*where).group_by(c.priority).order_by(c.priority.desc()))]


def _count(where: list) -> int:
    """How many tasks meet ``where``."""
    return core().execute(select(func.count()).select_from(HumanTask.__table__).where(*where)).scalar_one()


def inbox_page(where: list, tally: Tally, page: int, size: int = INBOX_PAGE) -> list:
    """One page of inbox rows in the inbox's order, each with its pathway's name. The page is read part by
    part (a priority, with a due time or without), each in the index's own order, skipping whole parts the
    tally has counted: no sort of the team's every task."""
    c, skip, found = TASK_COLUMNS, (page - 1) * size, []
    for priority, due, n in tally.parts:
        if skip >= n:
            skip -= n
            continue
        stmt = (_inbox_rows(where + [c.priority == priority, c.due_at.is_not(None) if due else c.due_at.is_(None)])
                .order_by(*PART_ORDER).offset(skip).limit(size - len(found)))
        found += core().execute(stmt).mappings()
        skip = 0
        if len(found) >= size:
            break
    return found


def _inbox_rows(where: list):
    """Task rows with their pathway version's name and their client's (``name``: None before the client's
    first sign-in)."""
    return (select(HumanTask.__table__, PathwayVersion.name.label("pathway_name"), Person.name.label("name"))
            .join(PathwayVersion, PathwayVersion.id == TASK_COLUMNS.version_id)
            .outerjoin(Person, Person.client_id == TASK_COLUMNS.client_id).where(*where))


def version_ids() -> list[int]:
    return list(db.session.scalars(select(PathwayVersion.id)))


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def people_by_client(client_ids) -> dict:
    """Each client's id and name (all a professional's page names them by), by client id."""
    ids = sorted(set(filter(None, client_ids)))
    if not ids:
        return {}
    return {p.client_id: p for p in db.session.execute(select(Person.client_id, Person.name)
                                                       .where(Person.client_id.in_(ids)))}


def team_members(teams: set[str]) -> list:
    members = (select(Membership.person_id).join(CareTeam, CareTeam.id == Membership.team_id)
               .where(CareTeam.key.in_(sorted(teams))))
    return list(db.session.scalars(select(Person).where(Person.id.in_(members)).order_by(Person.name)))


def pathway_names(version_ids: list[int]) -> list[tuple[str, str]]:
    """(key, the name of the latest of these versions) of the pathways they are of, by name."""
    latest: dict[str, tuple[int, str]] = {}
    for info in map(store().info, version_ids):
        if info.number > latest.get(info.pathway_key, (0, ""))[0]:
            latest[info.pathway_key] = (info.number, info.name)
    return sorted(((key, name) for key, (_, name) in latest.items()), key=lambda p: (p[1], p[0]))


def latest_versions() -> list[PathwayVersion]:
    """The latest version of every pathway, by name."""
    return sorted((p.latest for p in pathways() if p.latest is not None), key=lambda v: v.name)


def self_care_versions() -> list[PathwayVersion]:
    """The latest version of every self-care pathway, by name."""
    return [v for v in latest_versions() if v.kind == "self-care"]


def client_by_identity_code(code: str) -> Person:
    """The client with this personal identity code; someone who has not signed in yet gets a row to wait
    for them, found by the code when they first sign in."""
    return found_or_made(select(Person).where(Person.personal_identity_code == code), lambda: Person(
        subject=f"pending:{new_client_id()}", name="", personal_identity_code=code, client_id=new_client_id(),
        roles=["client"]))
