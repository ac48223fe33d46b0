"""People, care teams and their sessions, drafts, and the access log the database keeps append-only."""

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import DDL, JSON, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now
from ..extensions import db
from .flow import UTCDateTime


def new_client_id() -> str:
    """The id instances and logs name a client by: opaque, never the personal identity code."""
    return f"c-{secrets.token_hex(8)}"


class Person(db.Model):
    """Someone who signs in. ``subject`` is the identity provider's stable subject for them."""

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[str | None] = mapped_column(String(100), unique=True)  # the id instances name them by
    personal_identity_code: Mapped[str | None] = mapped_column(String(20), unique=True)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)  # client, professional, designer, admin
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    teams: Mapped[list["CareTeam"]] = relationship(secondary="membership", lazy="selectin", order_by="CareTeam.key")

    @property
    def team_keys(self) -> set[str]:
        return {team.key for team in self.teams}

    @property
    def login(self) -> str:
        """How history and assignments name them: the subject without its provider prefix."""
        return self.subject.split(":", 1)[-1]


class CareTeam(db.Model):
    """A care team; its ``key`` is what pathway lanes and candidate groups name (e.g. ``Hoitaja``)."""

    __tablename__ = "care_team"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Membership(db.Model):
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("care_team.id"), primary_key=True, index=True)


class UserSession(db.Model):
    """A signed-in session; the cookie holds only its random id, so signing out ends it for good."""

    __tablename__ = "user_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # the role the person acts in during this session
    method: Mapped[str] = mapped_column(String(20))  # oidc or dev
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    person: Mapped[Person] = relationship(lazy="joined", innerjoin=True)


class TaskDraft(db.Model):
    """Answers a client saved without sending; the form shows them again."""

    __tablename__ = "task_draft"
    task_id: Mapped[str] = mapped_column(ForeignKey("human_task.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AccessLog(db.Model):
    """Append-only: who saw which client's data, in what role, for what purpose, when."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_client", "client_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    actor: Mapped[str] = mapped_column(String(200))  # the person's name as it was then
    role: Mapped[str] = mapped_column(String(20))
    client_id: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(40))
    route: Mapped[str] = mapped_column(String(200))


# The database itself refuses to change or remove a logged access (the ORM never tries).
APPEND_ONLY = {
    "sqlite": [f"CREATE TRIGGER access_log_no_{verb} BEFORE {verb.upper()} ON access_log "
               "BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END" for verb in ("update", "delete")],
    "postgresql": ["CREATE OR REPLACE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'the access log is append-only'; END $$",
                   "CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log "
                   "FOR EACH ROW EXECUTE FUNCTION access_log_append_only()"],
}
for _dialect, _statements in APPEND_ONLY.items():
    for _statement in _statements:
        event.listen(AccessLog.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))
