"""Messages between a client and the care team on a professional pathway, as the pathway's message page has them:
the conversation, a message or a reply, its reply-by time under the pathway's service promise and whether it is late
(care/messaging.py, care/promise.py)."""

from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from ..auth import guard
from ..care import messaging
from ..clock import now
from ..core import queries
from ..core.refusal import Refused
from ..extensions import db
from ..models import Instance
from . import log_shown
from .views import Detail

blp = Blueprint("conversations", __name__, description="Messages between a client and the care team of a "
                                                       "professional pathway, under its service promise")
ID = "<int(min=1, max=2147483647):instance_id>"


class ConversationMessageSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    sender = fields.String(metadata={"description": "client, or professional (the care team)"})
    author_name = fields.String(metadata={"description": "who wrote it, by name"})
    team = fields.String(allow_none=True, metadata={"description": "the care team that answers on the pathway"})
    body = fields.String()
    sent_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True, metadata={"description": "when the other side read it"})
    reply_by = fields.DateTime(allow_none=True, metadata={
        "description": "a client's message: when the care team's reply is due under the pathway's service promise "
                       "(by 16:00 on the promised working day after it, in the pathway's zone; weekends and Finnish "
                       "public holidays not counted); null for the team's messages and without a promise"})
    replied_at = fields.DateTime(allow_none=True, metadata={
        "description": "a client's message: when the team's next message answered it (its response time)"})
    late = fields.Function(lambda message: messaging.late(message, now()), metadata={
        "description": "a client's message: answered after its reply-by time, or still waiting when it has passed"})


class ConversationSchema(Schema):
    instance_id = fields.Integer(attribute="id")
    pathway = fields.String()
    team = fields.Function(messaging.team_of, allow_none=True, metadata={
        "description": "the care team that answers: the pathway's messageTeam, else the first team that follows it"})
    reply_within_working_days = fields.Function(
        lambda instance: (instance.version.settings or {}).get("reply_within_working_days"), allow_none=True,
        metadata={"description": "the service promise: the team replies within this many working days"})
    may_send = fields.Boolean(metadata={"description": "whether the caller may write on it now (an active "
                                                       "professional pathway; of its teams, its message team)"})
    waiting_since = fields.DateTime(allow_none=True, metadata={
        "description": "when the oldest client message still waiting for a reply was sent"})
    reply_by = fields.DateTime(allow_none=True, metadata={
        "description": "the earliest reply-by time of the client's messages still waiting for a reply"})
    late = fields.Boolean(metadata={"description": "whether a message still waiting is past its reply-by time"})
    messages = fields.List(fields.Nested(ConversationMessageSchema), metadata={"description": "oldest first"})


class WaitingMessageSchema(ConversationMessageSchema):
    pathway = fields.Function(lambda message: db.session.get(Instance, message.instance_id).pathway)
    client_id = fields.String()
    client_name = fields.Function(
        lambda message: getattr(queries.people_by_client([message.client_id]).get(message.client_id), "name", None),
        allow_none=True)


class NewMessageSchema(Schema):
    body = fields.String(required=True, validate=validate.Length(max=100_000), metadata={
        "description": f"the message: at most {messaging.MAX_LENGTH} characters, surrounding space left out"})


def _sender(instance: Instance) -> str | None:
    """As whom the caller writes on this pathway: its client, or a professional; a system writes no messages."""
    return {"client": "client", "professional": "professional"}.get(guard.user().role)


def _answers(instance: Instance, sender: str | None) -> bool:
    """Whether the caller is the side that reads the other's messages: the client, or the message team's member."""
    if sender == "client":
        return True
    return sender == "professional" and messaging.team_of(instance) in guard.user().person.team_keys


@blp.route(f"/instances/{ID}/messages")
@blp.response(200, ConversationSchema)
@blp.alt_response(404, description="no such instance, or not one the caller may see")
def conversation(instance_id):
    """The pathway's messages, oldest first, each client message with its reply-by time and whether it is late.

    For the client and the care teams that follow the pathway (and systems). Reading it marks the other side's
    messages and the caller's notifications about them read, as the page does, when the caller is the side that
    answers: the client, or a member of the pathway's message team."""
    instance = guard.instance_for(instance_id)
    sender = _sender(instance)
    messages, at = messaging.thread(instance.id), now()
    waiting = [m for m in messages if m.sender == "client" and m.replied_at is None]
    due = [m.reply_by for m in waiting if m.reply_by is not None]
    answers = _answers(instance, sender)
    shown = Detail(instance, messages=messages, may_send=answers and messaging.may_message(instance),
                 waiting_since=min((m.sent_at for m in waiting), default=None), reply_by=min(due, default=None),
                 late=any(messaging.late(m, at) for m in waiting))
    log_shown({instance.client_id: instance.id}, "messages")
    if answers:
        messaging.mark_read(instance.id, sender)
        queries.mark_notifications_read(sender, instance.client_id if sender == "client"
                                        else messaging.team_of(instance), instance.id)
    return shown


@blp.route(f"/instances/{ID}/messages", methods=["POST"])
@blp.arguments(NewMessageSchema)
@blp.response(201, ConversationMessageSchema)
@blp.alt_response(403, description="the caller is not the client or of the pathway's message team")
@blp.alt_response(404, description="no such instance, or not one the caller may see")
@blp.alt_response(409, description="messages are sent only on an active professional pathway")
@blp.alt_response(422, description="the message is empty or too long: `errors` names `/body`")
def send(args, instance_id):
    """Send a message on the pathway: the client to the care team (it gets its reply-by time from the service
    promise), or a member of the pathway's message team to the client (a reply: it answers every client message
    still waiting). The other side is notified that there is a message, never of what it says."""
    instance = guard.instance_for(instance_id)
    sender = _sender(instance)
    if sender is None:
        abort(403, message="messages are written by the client and the care team, not by a system")
    person, body = guard.user().person, messaging.clean(args["body"])
    refused = messaging.refusal(instance, sender, person.team_keys, body)
    if refused is not None and refused.status == 422:
        raise Refused(422, refused.reason, [{"field": "/body", "message": refused.message}], **refused.values)
    sent = messaging.send(instance, sender, guard.actor(), person.name, body, person.team_keys)
    log_shown({instance.client_id: instance.id}, "messages")
    return sent


@blp.route("/conversations/unanswered")
@blp.response(200, WaitingMessageSchema(many=True))
def unanswered():
    """The clients' messages waiting for a reply from the caller's care teams, on running pathways, soonest due
    first (the team inbox's messages), each with its reply-by time and whether it is late."""
    guard.require("professional")
    teams = guard.user().person.team_keys if guard.user().role == "professional" else set()
    found = [m for m in messaging.unanswered(teams) if guard.may_see_instance(db.session.get(Instance, m.instance_id))]
    log_shown({m.client_id: m.instance_id for m in found}, "inbox")
    return found
