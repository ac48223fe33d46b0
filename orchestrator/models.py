"""Database models: pathways and versions, instances with their state, and projected query rows."""

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DDL, JSON, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime, TypeDecorator

from .clock import now
from .extensions import db


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC; SQLite hands them back naive, so mark them UTC again."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None


class Pathway(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    versions: Mapped[list["PathwayVersion"]] = relationship(
        back_populates="pathway", order_by="PathwayVersion.number", lazy="selectin"
    )

    @property
    def latest(self) -> "PathwayVersion | None":
        return self.versions[-1] if self.versions else None


class PathwayVersion(db.Model):
    __table_args__ = (UniqueConstraint("pathway_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    pathway_id: Mapped[int] = mapped_column(ForeignKey("pathway.id"))
    number: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    process_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    task_meta: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    forms: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    sources: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    messages: Mapped[list[str]] = mapped_column(JSON)
    time_zone: Mapped[str | None] = mapped_column(String(64))  # the service's zone when None
    kind: Mapped[str] = mapped_column(String(20), default="professional")  # or self-care
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # see engine/settings.py
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, deferred=True)  # Markdown pages by name
    deployed_by: Mapped[str] = mapped_column(String(200))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    pathway: Mapped[Pathway] = relationship(back_populates="versions", lazy="joined", innerjoin=True)


ACTIVE = ("running", "incident")  # an instance in these states is still going on


class Instance(db.Model):
    __table_args__ = (Index("ix_instance_business_key", "business_key", "status"),
                      Index("ix_instance_started", "version_id", "created_at"),  # metrics by period
                      Index("ix_instance_ended", "version_id", "ended_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("pathway_version.id"), index=True)
    business_key: Mapped[str | None] = mapped_column(String(200))
    client_id: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running/completed/cancelled/incident
    incident: Mapped[str | None] = mapped_column(Text)
    head: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    serializer_version: Mapped[str] = mapped_column(String(20))
    lock_version: Mapped[int] = mapped_column(default=1)
    started_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # start + the pathway's duration
    version: Mapped[PathwayVersion] = relationship(lazy="joined", innerjoin=True)

    @property
    def pathway(self) -> str:
        return self.version.pathway.key

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def version_number(self) -> int:
        return self.version.number

    @property
    def messages(self) -> list[str]:
        return self.version.messages


class TaskState(db.Model):
    """One SpiffWorkflow task document of an instance; only the tasks a step changed are written."""

    __tablename__ = "task_state"
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    scope: Mapped[str] = mapped_column(String(36))
    doc: Mapped[str] = mapped_column(Text)


class HumanTask(db.Model):
    __table_args__ = (
        Index("ix_human_task_open", "state", "role", "due_at"),
        Index("ix_human_task_instance", "instance_id", "state"),
        # Metrics by period read these columns only: on PostgreSQL the index alone answers them.
        Index("ix_human_task_asked", "version_id", "created_at",
              postgresql_include=["audience", "state", "form", "completed_at", "instance_id"]),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("pathway_version.id"))
    pathway_key: Mapped[str] = mapped_column(String(100), index=True)
    spec: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    role: Mapped[str | None] = mapped_column(String(200))
    audience: Mapped[str] = mapped_column(String(20))  # client or professional
    candidate_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    assignee: Mapped[str | None] = mapped_column(String(200), index=True)
    form: Mapped[str | None] = mapped_column(String(200))
    instructions: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="open")  # open/completed/cancelled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(200))


class Timer(db.Model):
    """A waiting timer; the scheduler claims the due ones by ``due_at`` (an index, never a scan)."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    spec: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # duration, date or cycle
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Notification(db.Model):
    """A message for a client or a care team, e.g. a reminder a timer sent; delivered through a port.

    Written in the step's transaction; delivery happens after commit (``delivered_at`` marks it),
    so a crash between the two delivers late rather than never.
    """

    __table_args__ = (
        Index("ix_notification_recipient", "audience", "recipient", "created_at"),
        Index("ix_notification_undelivered", "delivered_at"),
        Index("ix_notification_sent", "kind", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # reminder
    audience: Mapped[str] = mapped_column(String(20))  # client or professional
    recipient: Mapped[str | None] = mapped_column(String(200))  # the client's id, or the team's role
    task_id: Mapped[str | None] = mapped_column(String(36))  # the human task it is about
    source: Mapped[str] = mapped_column(String(200))  # the BPMN element that sent it
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Event(db.Model):
    """Append-only history: who did what, when. Metrics and audit read these rows."""

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    task_id: Mapped[str | None] = mapped_column(String(36))
    spec: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)


# --------------------------------------------------------------------------- people, teams, access


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


# --------------------------------------------------------------------------- care-pathway records


class Offer(db.Model):
    """A professional pathway a professional opened for a client; it starts once the client consents."""

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("pathway_version.id"))
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the modules switched on or off
    offered_by: Mapped[str] = mapped_column(String(200))
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending, accepted, declined, withdrawn
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"))
    version: Mapped[PathwayVersion] = relationship(lazy="joined", innerjoin=True)


class Consent(db.Model):
    """Append-only: a client's answer to a pathway's consent text, or its withdrawal, and when."""

    __table_args__ = (Index("ix_consent_client", "client_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100))
    version_id: Mapped[int] = mapped_column(ForeignKey("pathway_version.id"))
    page: Mapped[str] = mapped_column(String(200))  # the consent page's file name
    text_hash: Mapped[str] = mapped_column(String(64))  # which wording was shown: its SHA-256
    answer: Mapped[str] = mapped_column(String(20))  # given, declined, withdrawn
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"), index=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offer.id"))


class ContentView(db.Model):
    """One view of a pathway's content page: what the organisation's view counts are made of."""

    __tablename__ = "content_view"
    __table_args__ = (Index("ix_content_view_page", "pathway_key", "page"),
                      Index("ix_content_view_at", "pathway_key", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    pathway_key: Mapped[str] = mapped_column(String(100))
    page: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # who viewed it: client or professional
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Observation(db.Model):
    """A measurement as a typed value: what (its LOINC code), how much in which unit, and when measured."""

    __table_args__ = (Index("ix_observation_instance", "instance_id", "kind", "measured_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    client_id: Mapped[str | None] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # weight, waist, glucose, systolic, diastolic
    code: Mapped[str] = mapped_column(String(20))  # LOINC
    panel: Mapped[str | None] = mapped_column(String(20))  # the LOINC panel it belongs to (blood pressure)
    value: Mapped[float]
    unit: Mapped[str] = mapped_column(String(20))
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    task_id: Mapped[str | None] = mapped_column(String(36))  # the task it was sent with; None: entered freely
    recorded_by: Mapped[str] = mapped_column(String(200))


class DiaryEntry(db.Model):
    """One entry of a food or exercise diary, kept while its diary task is open."""

    __tablename__ = "diary_entry"
    __table_args__ = (Index("ix_diary_entry_instance", "instance_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    task_id: Mapped[str] = mapped_column(String(36), index=True)
    diary: Mapped[str] = mapped_column(String(20))  # food or exercise
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(200))


class Message(db.Model):
    """A message between a client and the care team on a professional pathway.

    A client's message gets ``reply_by`` from the pathway's service promise; the team's first reply
    after it sets ``replied_at`` (its response time) on every message of the client it answers.
    """

    __table_args__ = (Index("ix_message_open", "team", "replied_at", "reply_by"),
                      Index("ix_message_sent", "sent_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(100))
    team: Mapped[str | None] = mapped_column(String(200))  # the team that answers
    sender: Mapped[str] = mapped_column(String(20))  # client or professional
    author: Mapped[str] = mapped_column(String(200))  # who wrote it (their login)
    author_name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reply_by: Mapped[datetime | None] = mapped_column(UTCDateTime)  # client messages only
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # by the other side


class Score(db.Model):
    """A feedback or outcome answer as a number (NPS 0–10, CES 1–7, a PROM scale), kept without the client:
    metrics read these, and a self-care pathway's are anonymous aggregates only."""

    __table_args__ = (Index("ix_score_pathway", "pathway_key", "kind", "at"),
                      Index("ix_score_version", "version_id", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    pathway_key: Mapped[str] = mapped_column(String(100))
    version_id: Mapped[int] = mapped_column(ForeignKey("pathway_version.id"))
    kind: Mapped[str] = mapped_column(String(20))  # nps, ces, prom
    name: Mapped[str] = mapped_column(String(100))  # the form field (a PROM: its scale)
    task_spec: Mapped[str] = mapped_column(String(200))  # which questionnaire (start, end…)
    value: Mapped[float]
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Disclosure(db.Model):
    """Append-only: every export that leaves Polku (a client's FHIR bundle, a metrics CSV) — who, what, when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    client_id: Mapped[str | None] = mapped_column(String(100), index=True)  # None: aggregates only
    what: Mapped[str] = mapped_column(String(40))  # fhir-bundle, metrics-csv
    detail: Mapped[str] = mapped_column(String(300))  # the route and its arguments


class MetricGoal(db.Model):
    """A target an administrator set for a pathway's metric; it takes the place of the package's own."""

    __tablename__ = "metric_goal"
    pathway_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    metric: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[float]
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffSurvey(db.Model):
    """A staff feedback survey (NPS 0–10) an administrator sends to a care team."""

    __tablename__ = "staff_survey"
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("care_team.id"), index=True)
    question: Mapped[str] = mapped_column(String(300))
    sent_by: Mapped[str] = mapped_column(String(200))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    team: Mapped[CareTeam] = relationship(lazy="joined", innerjoin=True)


class StaffResponse(db.Model):
    """Who has answered a staff survey, so nobody answers twice; what they answered is kept apart, unnamed."""

    __tablename__ = "staff_response"
    survey_id: Mapped[int] = mapped_column(ForeignKey("staff_survey.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)


class StaffScore(db.Model):
    """One anonymous staff NPS answer."""

    __tablename__ = "staff_score"
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("staff_survey.id"), index=True)
    value: Mapped[int]
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # the day only, so that the order does not name anyone
