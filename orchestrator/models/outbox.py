"""What Polku sends out of itself: a client's chosen channels, and the outbox of e-mails, text messages and
webhook calls with each attempt at sending them."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now
from ..extensions import db
from .flow import UTCDateTime


class ContactChoice(db.Model):
    """Append-only: someone's choice of a channel (a client's reminders by e-mail or SMS; a professional's daily
    digest by e-mail), its address, the language to write in, and its withdrawal (no address). The latest row
    per person and channel holds."""

    __tablename__ = "contact_choice"
    __table_args__ = (Index("ix_contact_choice_owner", "owner", "channel", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))  # the client's id, or a professional's login
    channel: Mapped[str] = mapped_column(String(10))  # email, sms, or digest (a professional's, by e-mail)
    address: Mapped[str | None] = mapped_column(String(320))  # None: withdrawn
    language: Mapped[str] = mapped_column(String(5), default="fi")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class Outgoing(db.Model):
    """One message to send: written in the transaction of the step it tells of, sent after commit.

    ``status`` pending → sent, or dead after too many failed attempts. A sender claims a due row for a short
    lease (``claimed_until``) in a transaction of its own, so that two processes never send one at once; a
    sender that dies mid-send leaves its lease to run out and the row to be tried again. ``reference`` is the
    row's own stable id, sent with it (Message-ID, Idempotency-Key, CloudEvents id), so a receiver knows a
    message it has already had.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))  # email, sms or webhook
    recipient: Mapped[str] = mapped_column(String(2000))  # an address, a phone number or a URL
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # a webhook call's own (its signature among them)
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # reminder, notice, digest, or the event type of a webhook
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the next attempt; quiet hours move it to morning
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class Subscription(db.Model):
    """A system's subscription to Polku's events: where to send them (a CloudEvents document, signed with the
    subscription's secret), which types, and who registered it. Ended, not deleted: the outbox names it."""

    __tablename__ = "webhook_subscription"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryAttempt(db.Model):
    """Append-only: each attempt at sending an outbox row, and how it went."""

    __tablename__ = "delivery_attempt"
    id: Mapped[int] = mapped_column(primary_key=True)
    outgoing_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    ok: Mapped[bool]
    detail: Mapped[str | None] = mapped_column(Text)  # the receiver's answer or the error
