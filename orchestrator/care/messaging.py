"""Messages between a client and the care team of a professional pathway, under its service promise.

A client's message is for the pathway's message team and gets a reply-by time from the promise. The
team's next message on the pathway answers every client message still waiting: their ``replied_at``
is the response time the metrics read. Each message also notifies the other side.
"""

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select

from ..clock import now
from ..core import outbox
from ..core.database import write
from ..core.refusal import N_, Refused
from ..core.store import store
from ..extensions import db
from ..models import ACTIVE, Instance, Message, Notification
from ..reach import reminders
from . import promise

MAX_LENGTH = 5000
# A notification may leave the service (email, SMS): it says that there is a message, never what it says. It is
# stored in the service's language, for delivery; a page words it in its reader's (by the sender's key).
NOTICE = {"client": N_("New message from a client on the pathway %(pathway)s."),
          "professional": N_("New message from the care team on the pathway %(pathway)s.")}


def _stored_notice(sender: str, pathway: str) -> str:
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return gettext(NOTICE[sender], pathway=pathway)


def team_of(instance: Instance) -> str | None:
    """The team that answers: the pathway's ``messageTeam``, else the first team that follows it."""
    info = store().info(instance.version_id)
    return (info.settings or {}).get("message_team") or min(info.teams, default=None)


def may_message(instance: Instance) -> bool:
    return instance.version.kind == "professional" and instance.active \
        and team_of(instance) is not None


def clean(body: str) -> str:
    """A message as stored: line breaks as the browser counts them (one character), no surrounding space."""
    return body.replace("\r\n", "\n").strip()


def refusal(instance: Instance, sender: str, sender_teams: set[str] | None, body: str) -> Refused | None:
    """Why this message cannot be sent, or None; ``body`` as ``clean`` left it. The page shows it beside
    the message typed; ``send`` raises it.

    Of the teams that follow a pathway only its message team answers, so that its inbox stays true.
    """
    if not may_message(instance):
        return Refused(409, N_("messages can be sent only on an active professional pathway"))
    if sender == "professional" and team_of(instance) not in (sender_teams or set()):
        return Refused(403, N_("messages on this pathway are answered by the team %(team)s"), team=team_of(instance))
    if not body:
        return Refused(422, N_("write the message first"))
    if len(body) > MAX_LENGTH:
        return Refused(422, N_("a message may be at most %(n)s characters"), n=MAX_LENGTH)
    return None


def send(instance: Instance, sender: str, author: str, author_name: str, body: str,
         sender_teams: set[str] | None = None) -> Message:
    """Send a message on the pathway; ``sender`` is client or professional (one of ``sender_teams``).

    Checked inside the write, on the instance as it is now (it may have ended since the page was read)."""
    with write():
        body, team = clean(body), team_of(instance)
        refused = refusal(instance, sender, sender_teams, body)
        if refused is not None:
            raise refused
        at = now()
        message = Message(instance_id=instance.id, client_id=instance.client_id, team=team, sender=sender,
                          author=author, author_name=author_name, body=body, sent_at=at)
        if sender == "client":
            days = (instance.version.settings or {}).get("reply_within_working_days")
            zone = instance.version.time_zone or current_app.config["POLKU_TIME_ZONE"]
            message.reply_by = promise.reply_by(at, days, zone) if days else None
        else:
            for waiting in _waiting(instance.id):
                waiting.replied_at = at
        db.session.add(message)
        notice = {"instance_id": instance.id, "kind": "message", "created_at": at,
                  "audience": "professional" if sender == "client" else "client",
                  "recipient": team if sender == "client" else instance.client_id}
        db.session.add(Notification(**notice, task_id=None, source="message",
                                    text=_stored_notice(sender, instance.version.name)))
        outbox.add(reminders.for_notices([notice]))  # the team's reply reaches the client by her channels too
    return message


def _waiting(instance_id: int) -> list[Message]:
    return list(db.session.scalars(select(Message).where(Message.instance_id == instance_id,
                                                         Message.sender == "client", Message.replied_at.is_(None))))


def thread(instance_id: int) -> list[Message]:
    return list(db.session.scalars(select(Message).where(Message.instance_id == instance_id)
                                   .order_by(Message.sent_at, Message.id)))


def late(message: Message, at) -> bool:
    """Whether a client's message broke the service promise as known at ``at``: answered after its reply-by time,
    or still unanswered when that time has passed (the pages' *Answered late* and *Late*)."""
    if message.sender != "client" or message.reply_by is None:
        return False
    return (message.replied_at or at) > message.reply_by


def mark_read(instance_id: int, reader: str) -> None:
    """The reader (client or professional) has seen the other side's messages."""
    at = now()
    with write():
        for message in thread(instance_id):
            if message.sender != reader and message.read_at is None:
                message.read_at = at


def unanswered(teams: set[str]) -> list[Message]:
    """Client messages waiting for a reply from these teams, on running pathways, the soonest due first."""
    if not teams:
        return []
    return list(db.session.scalars(
        select(Message).join(Instance, Instance.id == Message.instance_id)
        .where(Message.team.in_(sorted(teams)), Message.sender == "client", Message.replied_at.is_(None),
               Instance.status.in_(ACTIVE))
        .order_by(Message.reply_by.is_(None), Message.reply_by, Message.id)))
