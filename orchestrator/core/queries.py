"""Read-side queries over projected rows; none of them loads a workflow."""

import json
from datetime import datetime

from sqlalchemy import Text, bindparam, case, cast, func, or_, select, update

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
          overdue: bool | None = None, limit: int = 100) -> list[HumanTask]:
    """The inbox: filtered, soonest due first, then oldest. Rows, not entities: nothing here is changed."""
    c = TASK_COLUMNS
    stmt = select(HumanTask.__table__)
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
    stmt = stmt.order_by(*INBOX_ORDER).limit(limit)
    return list(core().execute(stmt).mappings())


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


INBOX_PAGE = 50  # tasks on one page of the team inbox


def team_inbox(teams: set[str], version_ids: list[int]) -> list:
    """The conditions of a care team's inbox: open professional tasks of ``teams`` (the task's lane or a
    candidate group) on instances of a client, of the versions the teams follow (``version_ids``)."""
    c = TASK_COLUMNS
    return [c.state == "open", c.audience == "professional", Instance.client_id.is_not(None),
            Instance.version_id.in_(version_ids), or_(c.role.in_(sorted(teams)), *_in_candidate_groups(teams))]


def client_matches(query: str):
    """A client by internal id or by a part of their name."""
    query = query.strip()
    named = select(Person.client_id).where(Person.client_id.is_not(None),
                                           Person.name.ilike(f"%{_like(query)}%", escape="\\"))
    return or_(Instance.client_id == query, Instance.client_id.in_(named))


def client_id_by_code(code: str) -> str | None:
    """The internal id of whoever has this personal identity code (as stored: compact, upper case)."""
    return db.session.scalar(select(Person.client_id).where(Person.personal_identity_code == code))


def _inbox_rows(where: list):
    return (select(HumanTask.__table__, Instance.client_id, PathwayVersion.name.label("pathway_name"))
            .join(Instance, Instance.id == TASK_COLUMNS.instance_id)
            .join(PathwayVersion, PathwayVersion.id == Instance.version_id).where(*where))


def inbox_page(where: list, page: int, size: int = INBOX_PAGE) -> list:
    """One page of inbox rows, late first and then soonest due, each with its client id and pathway name."""
    stmt = _inbox_rows(where).order_by(*INBOX_ORDER, TASK_COLUMNS.id).offset((page - 1) * size).limit(size)
    return list(core().execute(stmt).mappings())


def inbox_counts(where: list, me: str, at: datetime) -> tuple[dict, list[tuple[str, str, int]]]:
    """How many tasks the inbox has in all, how many are ``me``'s and how many are late, and (key, the
    latest version's name, open tasks) for each of its pathways, by name: one query."""
    c = TASK_COLUMNS
    by_pathway = core().execute(
        select(c.pathway_key, func.count(), func.count(case((c.assignee == me, 1))),
               func.count(case((c.due_at < at, 1))))
        .select_from(HumanTask.__table__).join(Instance, Instance.id == c.instance_id).where(*where)
        .group_by(c.pathway_key)).all()
    counts = {"all": sum(r[1] for r in by_pathway), "mine": sum(r[2] for r in by_pathway),
              "overdue": sum(r[3] for r in by_pathway)}
    names = {p.key: p.latest.name if p.latest else p.key for p in pathways()}
    found = sorted(((r[0], names.get(r[0], r[0]), r[1]) for r in by_pathway), key=lambda p: (p[1], p[0]))
    return counts, found


def inbox_total(where: list) -> int:
    return core().execute(select(func.count()).select_from(HumanTask.__table__)
                          .join(Instance, Instance.id == TASK_COLUMNS.instance_id).where(*where)).scalar_one()


def instances_by_id(ids) -> list[Instance]:
    return list(db.session.scalars(select(Instance).where(Instance.id.in_(sorted(set(ids))))))


def version_ids() -> list[int]:
    return list(db.session.scalars(select(PathwayVersion.id)))


def _in_candidate_groups(teams: set[str]) -> list:
    """A team named among a task's candidate groups (a JSON list, matched as the text it is stored as)."""
    text = cast(TASK_COLUMNS.candidate_groups, Text)
    return [text.like(f"%{_like(json.dumps(team))}%", escape="\\") for team in sorted(teams)]


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def people_by_client(client_ids) -> dict:
    ids = sorted(set(filter(None, client_ids)))
    if not ids:
        return {}
    return {p.client_id: p for p in db.session.scalars(select(Person).where(Person.client_id.in_(ids)))}


def team_members(teams: set[str]) -> list:
    members = (select(Membership.person_id).join(CareTeam, CareTeam.id == Membership.team_id)
               .where(CareTeam.key.in_(sorted(teams))))
    return list(db.session.scalars(select(Person).where(Person.id.in_(members)).order_by(Person.name)))


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
