"""Messages between a client and the care team of a professional pathway, under its service promise.

A client's message is for the pathway's message team and gets a reply-by time from the promise. The
team's next message on the pathway answers every client message still waiting: their ``replied_at``
is the response time the metrics read. Each message also notifies the other side.
"""

from flask import current_app
from sqlalchemy import select

from . import promise
from .clock import now
from .extensions import db
from .models import Instance, Message, Notification
from .steps import StepRefused

MAX_LENGTH = 5000


def team_of(instance: Instance) -> str | None:
    """The team that answers: the pathway's ``messageTeam``, else the first team that follows it."""
    info = current_app.extensions["polku_store"].info(instance.version_id)
    return (info.settings or {}).get("message_team") or min(info.teams, default=None)


def may_message(instance: Instance) -> bool:
    return instance.version.kind == "professional" and instance.status in ("running", "incident") \
        and team_of(instance) is not None


def send(instance: Instance, sender: str, author: str, author_name: str, body: str) -> Message:
    """Send a message on the pathway; ``sender`` is client or professional."""
    body = body.strip()
    if not body:
        raise StepRefused(422, "write the message first")
    if len(body) > MAX_LENGTH:
        raise StepRefused(422, f"a message may be at most {MAX_LENGTH} characters")
    if not may_message(instance):
        raise StepRefused(409, "messages can be sent only on an active professional pathway")
    at, team = now(), team_of(instance)
    message = Message(instance_id=instance.id, client_id=instance.client_id, team=team, sender=sender, author=author,
                      author_name=author_name, body=body, sent_at=at)
    if sender == "client":
        days = (instance.version.settings or {}).get("reply_within_working_days")
        zone = instance.version.time_zone or current_app.config["POLKU_TIME_ZONE"]
        message.reply_by = promise.reply_by(at, days, zone) if days else None
    else:
        for waiting in _waiting(instance.id):
            waiting.replied_at = at
    db.session.add(message)
    db.session.add(Notification(instance_id=instance.id, kind="message", created_at=at, task_id=None,
                                audience="professional" if sender == "client" else "client",
                                recipient=team if sender == "client" else instance.client_id, source="message",
                                text=f"{author_name}: {body[:200]}"))
    db.session.commit()
    return message


def _waiting(instance_id: int) -> list[Message]:
    return list(db.session.scalars(select(Message).where(Message.instance_id == instance_id,
                                                         Message.sender == "client", Message.replied_at.is_(None))))


def thread(instance_id: int) -> list[Message]:
    return list(db.session.scalars(select(Message).where(Message.instance_id == instance_id)
                                   .order_by(Message.sent_at, Message.id)))


def mark_read(instance_id: int, reader: str) -> None:
    """The reader (client or professional) has seen the other side's messages."""
    at = now()
    for message in thread(instance_id):
        if message.sender != reader and message.read_at is None:
            message.read_at = at
    db.session.commit()


def unanswered(teams: set[str]) -> list[Message]:
    """Client messages waiting for a reply from these teams, on running pathways, the soonest due first."""
    if not teams:
        return []
    return list(db.session.scalars(
        select(Message).join(Instance, Instance.id == Message.instance_id)
        .where(Message.team.in_(sorted(teams)), Message.sender == "client", Message.replied_at.is_(None),
               Instance.status.in_(("running", "incident")))
        .order_by(Message.reply_by.is_(None), Message.reply_by, Message.id)))
