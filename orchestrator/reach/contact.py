"""Someone's own channels, as she chooses them: a client's reminders by e-mail and SMS, a professional's daily
digest by e-mail, and the language they are written in. Checked here for the pages and the API alike, and
recorded append-only as ``ContactChoice`` rows: the latest row per person and channel holds, and a withdrawal is
a row without an address.

Neither ``email-validator`` nor ``phonenumbers`` is a dependency of Polku, so the checks are Polku's own, strict
and written down here:

- An **e-mail address** is ``local@domain``, at most 254 characters (RFC 5321's limit on a path, less its angle
  brackets). The local part, at most 64, is an RFC 5322 dot-atom: letters, digits and ``!#$%&'*+/=?^_`{|}~-``,
  with single dots between them. Quoted local parts, comments and IP-address domains are legal but nobody gives
  them as a contact address: they are refused. The domain is two or more labels of letters, digits and hyphens
  (no hyphen at a label's ends, at most 63 characters each) whose last is a name, not a number. A domain written
  in Unicode (``ääkköset.fi``) is stored in its ASCII form (IDNA), as mail servers take it. Space around the
  address is dropped and the domain is lower-cased.
- A **mobile number** is stored in international form (E.164): ``+`` and 8–15 digits, the first not 0. Spaces,
  hyphens, dots, brackets and a ``(0)`` after the country code are dropped, and a leading ``00`` is ``+``. A
  number with a single leading ``0`` is a Finnish one: ``040 123 4567`` is ``+358401234567``. A Finnish number
  must be a mobile one, ``+358 4x`` or ``+358 50`` and 5–8 digits more: a text message does not reach a landline.
"""

import re
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..clock import now
from ..core.database import write
from ..core.refusal import N_
from ..extensions import db
from ..models import ContactChoice

CHANNELS = {"client": ("email", "sms"), "professional": ("digest",)}  # whose channels are which
LANGUAGES = ("fi", "sv", "en")
ADDRESS_LENGTH = 320  # ContactChoice.address
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*", re.ASCII)
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
_SEPARATORS = re.compile(r"[\s\-.()/]")
_FINNISH_MOBILE = re.compile(r"\+358(?:4\d|50)\d{5,8}")  # 040 123 4567: 7–10 digits after the 0

BAD_EMAIL = N_("Write the e-mail address in the form name@example.fi.")
LONG_EMAIL = N_("An e-mail address can be at most 254 characters long.")
BAD_PHONE = N_("Write the mobile number with its country code, such as +358 40 123 4567, or a Finnish number "
               "such as 040 123 4567.")
NOT_MOBILE = N_("This is not a Finnish mobile number: it should begin with 04 or 050.")
BAD_LANGUAGE = N_("Choose Finnish, Swedish or English.")


@dataclass
class Choices:
    """A person's channels as last chosen: each channel's address (None: not chosen, or withdrawn), and the
    language of the latest choice (None: never chosen)."""

    addresses: dict[str, str | None] = field(default_factory=dict)
    language: str | None = None


def owner_of(role: str, person) -> tuple[str, tuple[str, ...]] | None:
    """Whose choices the signed-in person makes and of which channels: a client by her id (reminders by e-mail and
    SMS), a professional by her login (the daily digest); none for other roles."""
    if role == "client" and person.client_id:
        return person.client_id, CHANNELS["client"]
    if role == "professional":
        return person.login, CHANNELS["professional"]
    return None


def latest(owner: str) -> dict[str, ContactChoice]:
    """The latest row of each of someone's channels, withdrawals included."""
    newest = select(func.max(ContactChoice.id)).where(ContactChoice.owner == owner).group_by(ContactChoice.channel)
    return {row.channel: row for row in db.session.scalars(select(ContactChoice).where(ContactChoice.id.in_(newest)))}


def of(owner: str, channels: tuple[str, ...]) -> Choices:
    """Someone's choices of these channels."""
    rows = latest(owner)
    newest = max(rows.values(), key=lambda row: row.id, default=None)
    return Choices({channel: rows[channel].address if channel in rows else None for channel in channels},
                   newest.language if newest is not None else None)


def email(text: str) -> str:
    """An e-mail address as stored, or ValueError with the reason (see the module's docstring)."""
    text = text.strip()
    local, at, domain = text.rpartition("@")
    if not at or not _LOCAL.fullmatch(local) or len(local) > 64:
        raise ValueError(BAD_EMAIL)
    try:
        domain = domain.lower().encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(BAD_EMAIL) from None
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise ValueError(BAD_EMAIL)
    address = f"{local}@{domain}"
    if len(address) > 254:
        raise ValueError(LONG_EMAIL)
    return address


def phone(text: str) -> str:
    """A mobile number in international form (E.164), or ValueError with the reason (see the module's docstring)."""
    number = _SEPARATORS.sub("", text.strip().replace("(0)", ""))  # +358 (0)40 …: the 0 is for calls at home
    if number.startswith("00"):
        number = "+" + number[2:]
    elif number.startswith("0"):
        number = "+358" + number[1:]
    if not re.fullmatch(r"\+[1-9]\d{7,14}", number, re.ASCII):
        raise ValueError(BAD_PHONE)
    if number.startswith("+358") and not _FINNISH_MOBILE.fullmatch(number):
        raise ValueError(NOT_MOBILE)
    return number


CHECKS = {"email": email, "sms": phone, "digest": email}


def check(wanted: dict[str, str | None], language: str | None) -> tuple[dict[str, str | None], dict[str, str]]:
    """The addresses as they would be stored (empty or None: withdrawn) and the reasons (untranslated, by field:
    a channel, or ``language``) why some cannot be."""
    found, errors = {}, {}
    for channel, text in wanted.items():
        try:
            found[channel] = CHECKS[channel](text) if text and text.strip() else None
        except ValueError as refused:
            errors[channel] = str(refused)
    if language is not None and language not in LANGUAGES:
        errors["language"] = BAD_LANGUAGE
    return found, errors


def choose(owner: str, channels: tuple[str, ...], addresses: dict[str, str | None], language: str | None) -> list[str]:
    """Record what changed among ``channels`` (checked by ``check``): the addresses given (None withdraws), and
    the language, which every channel in use is then written in. Returns the channels a row was written for."""
    with write():
        rows, at = latest(owner), now()
        if language is None:  # as it was chosen last
            newest = max(rows.values(), key=lambda row: row.id, default=None)
            language = newest.language if newest is not None else "fi"
        written = []
        for channel in channels:
            before = rows.get(channel)
            held = before.address if before is not None else None
            address = addresses.get(channel, held)
            if address != held or (address is not None and before.language != language):
                db.session.add(ContactChoice(owner=owner, channel=channel, address=address, language=language, at=at))
                written.append(channel)
    return written
