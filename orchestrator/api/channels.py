"""The signed-in person's own channels, as her settings page has them (reach/contact.py): a client's reminders by
e-mail and SMS, a professional's daily digest by e-mail, and the language they are written in."""

from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from ..auth import guard
from ..extensions import csrf
from ..models import UserSession
from ..reach import contact
from . import log_shown

blp = Blueprint("channels", __name__, description="The signed-in person's own channels: a client's reminders, a "
                                                  "professional's daily digest")
WHAT = {"email": "a client's reminders by e-mail: the address",
        "sms": "a client's reminders by SMS: the mobile number in international form (E.164)",
        "digest": "a professional's daily digest by e-mail at 07:00 (new alerts and late client messages in her "
                  "teams' inboxes, counts only): the address"}


class ChannelsSchema(Schema):
    email = fields.String(allow_none=True, metadata={"description": f"{WHAT['email']}; null: none (clients only)"})
    sms = fields.String(allow_none=True, metadata={"description": f"{WHAT['sms']}; null: none (clients only)"})
    digest = fields.String(allow_none=True, metadata={
        "description": f"{WHAT['digest']}; null: none (professionals only)"})
    language = fields.String(metadata={"description": "what the messages are written in: fi, sv or en"})


class ChannelsChoiceSchema(Schema):
    email = fields.String(allow_none=True, validate=validate.Length(max=contact.ADDRESS_LENGTH), metadata={
        "description": f"{WHAT['email']}; null or empty withdraws; left out: unchanged (clients only)"})
    sms = fields.String(allow_none=True, validate=validate.Length(max=100), metadata={
        "description": f"{WHAT['sms']} (+358…, or a Finnish 04…/050… number); null or empty withdraws; left out: "
                       "unchanged (clients only)"})
    digest = fields.String(allow_none=True, validate=validate.Length(max=contact.ADDRESS_LENGTH), metadata={
        "description": f"{WHAT['digest']}; null or empty withdraws; left out: unchanged (professionals only)"})
    language = fields.String(allow_none=True, validate=validate.Length(max=10), metadata={
        "description": "fi, sv or en: every channel in use is then written in it; left out or null: unchanged (fi "
                       "until one is chosen)"})


@blp.route("/me/channels")
@blp.response(200, ChannelsSchema)
@blp.alt_response(403, description="the caller is not a signed-in client or professional")
def own():
    """The caller's own channels: a client's `email` and `sms`, a professional's `digest` (null: none chosen, or
    withdrawn), and the `language` they are written in."""
    owner, channels = _own()
    return _shown(owner, channels)


@blp.route("/me/channels", methods=["PUT"])
@blp.arguments(ChannelsChoiceSchema)
@blp.response(200, ChannelsSchema)
@blp.alt_response(403, description="the caller is not a signed-in client or professional")
@blp.alt_response(422, description="an address that cannot be used, or a channel not the caller's: `errors` "
                                   "names each field")
def choose(args):
    """Choose, change or withdraw (null) the caller's own channels and their language; what is left out stays as
    it was. Each change is recorded (the latest choice holds); the answer is the channels as they are now."""
    if isinstance(guard.user(), UserSession) and guard.user().method != "dev":
        csrf.protect()  # a cookie rides along with another site's request too (the API's door checks posts only)
    owner, channels = _own()
    language = args.pop("language", None)
    foreign = sorted(set(args) - set(channels))
    addresses, errors = contact.check({k: v for k, v in args.items() if k in channels}, language)
    problems = [{"field": f"/{key}", "message": "not a channel of yours: a client has email and sms, a "
                                               "professional digest"} for key in foreign]
    problems += [{"field": f"/{key}", "message": reason} for key, reason in sorted(errors.items())]
    if problems:
        abort(422, message="the channels were not changed", errors=problems)
    contact.choose(owner, channels, addresses, language)
    return _shown(owner, channels)


def _own() -> tuple[str, tuple[str, ...]]:
    found = contact.owner_of(guard.user().role, guard.user().person)
    if found is None:
        abort(403, message="only a signed-in client or professional has channels of her own")
    return found


def _shown(owner: str, channels: tuple[str, ...]) -> dict:
    held = contact.of(owner, channels)
    if guard.user().role == "client":
        log_shown({owner: owner}, "contact-choices")
    return {**held.addresses, "language": held.language or "fi"}
