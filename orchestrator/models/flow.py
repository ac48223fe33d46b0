"""Pathways and versions, instances with their state, and the projected rows a step writes."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime, TypeDecorator

from ..clock import now
from ..extensions import db


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
    # What the package's scenarios covered when it was deployed (tools/scenarios.py); None without scenarios.
    coverage: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)
    deployed_by: Mapped[str] = mapped_column(String(200))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    pathway: Mapped[Pathway] = relationship(back_populates="versions", lazy="joined", innerjoin=True)


ACTIVE = ("running", "incident", "suspended")  # an instance in these states is still going on


class Instance(db.Model):
    __table_args__ = (Index("ix_instance_business_key", "business_key", "status"),
                      Index("ix_instance_started", "version_id", "created_at"),  # metrics by period
                      Index("ix_instance_ended", "version_id", "ended_at"),
                      Index("ix_instance_incident", "status", "incident_at"),  # the incidents, latest first
                      Index("ix_instance_updated", "updated_at"))  # what the metrics' rollups count again
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("pathway_version.id"), index=True)
    business_key: Mapped[str | None] = mapped_column(String(200))
    client_id: Mapped[str | None] = mapped_column(String(100), index=True)
    # running, incident (stopped on an error), suspended (by an operator), completed or cancelled
    status: Mapped[str] = mapped_column(String(20), default="running")
    incident: Mapped[str | None] = mapped_column(Text)  # "element: what went wrong", while it stands
    incident_element: Mapped[str | None] = mapped_column(String(200))
    incident_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    head: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    serializer_version: Mapped[str] = mapped_column(String(20))
    lock_version: Mapped[int] = mapped_column(default=1)
    started_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # start + the pathway's duration
    # The messages it can take now, as its last step left it (None: written before steps kept it).
    waiting_for: Mapped[list[str] | None] = mapped_column(JSON)
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
    # Where the task stands, read by the diagrams without the documents: its node (the task spec's name, a BPMN
    # element's id for the pathway's own elements) and SpiffWorkflow's state by name (READY, COMPLETED, ...).
    spec: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str | None] = mapped_column(String(12))


class HumanTask(db.Model):
    __table_args__ = (
        # The team inbox: a team's open tasks, most urgent first and then soonest due, read in this index's
        # order a page at a time; its counts come from the index alone.
        Index("ix_human_task_inbox", "state", "queue", "priority", "due_at", "created_at", "id", "pathway_key",
              "client_id", "assignee"),
        # A person's own tasks (the inbox counts "mine" from it alone).
        Index("ix_human_task_assignee", "assignee", "state", "queue"),
        Index("ix_human_task_instance", "instance_id", "state"),
        # Metrics by period read these columns only: on PostgreSQL the index alone answers them.
        Index("ix_human_task_asked", "version_id", "created_at",
              postgresql_include=["audience", "state", "form", "completed_at", "instance_id"]),
        # What the metrics' rollups count again: the tasks opened or closed since they last counted.
        Index("ix_human_task_created", "created_at"),
        Index("ix_human_task_completed", "completed_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("pathway_version.id"))
    client_id: Mapped[str | None] = mapped_column(String(100))  # the instance's client (the inbox reads no instance)
    pathway_key: Mapped[str] = mapped_column(String(100), index=True)
    spec: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str | None] = mapped_column(String(300))  # the task's line in the inbox, its values filled in
    # 0–100, higher first in the inbox (50 routine)
    priority: Mapped[int] = mapped_column(Integer, default=50, server_default="50")
    role: Mapped[str | None] = mapped_column(String(200))
    audience: Mapped[str] = mapped_column(String(20))  # client or professional
    # The team whose inbox lists it: its role, for a professional task of a client on a pathway that teams
    # follow (not self-care); none for a client's task or one of an instance without a client.
    queue: Mapped[str | None] = mapped_column(String(200))
    candidate_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    assignee: Mapped[str | None] = mapped_column(String(200))
    form: Mapped[str | None] = mapped_column(String(200))
    instructions: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="open")  # open/completed/missed (its time ran out)/cancelled
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
        Index("ix_notification_task", "task_id"),  # a reminded task's reminders (metrics' rollups)
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
