"""Settings: a client chooses where Polku reminds her (e-mail, a mobile number, or both) and in which language; a
professional chooses a daily digest by e-mail. Each may change or withdraw her choices; nobody sees anyone else's
(the person is the signed-in one, never named in the address). The choices are checked and recorded by
``reach/contact.py``."""

import re
from datetime import time

from babel.dates import format_time
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from ..auth import access, guard
from ..reach import contact, digest
from .filters import ENGLISH
from .schema_form import Field

blp = Blueprint("settings", __name__)
LABELS = {"email": _l("E-mail address"), "sms": _l("Mobile number"), "digest": _l("E-mail address")}
HINTS = {"email": _l("Leave it empty if you want no reminders by e-mail."),
         "sms": _l("For text messages, such as 040 123 4567 or +46 70 123 45 67. Leave it empty if you want no "
                   "text messages."),
         "digest": _l("Leave it empty if you want no daily summary.")}
BREAK_AFTER = ("@", ".", "_", "+", "-")
INPUT = {"email": ("email", "email"), "sms": ("tel", "tel"), "digest": ("email", "email")}  # inputmode, autocomplete


@blp.route("/me/settings", methods=["GET", "POST"])
@guard.signed_in("client")
def client():
    """Where my reminders go: e-mail, a mobile number, or both, and their language."""
    me = guard.user().person.client_id
    access.record(me, "contact-choices", me, access.purpose())
    return _page("settings.client")


@blp.route("/work/settings", methods=["GET", "POST"])
@guard.signed_in("professional")
def work():
    """My daily digest by e-mail: how many new alerts and late messages wait in my teams' inboxes."""
    return _page("settings.work")


@blp.route("/me/settings/withdraw", methods=["POST"])
@guard.signed_in("client")
def client_withdraw():
    """Stop reminders by one channel."""
    return _withdraw("settings.client")


@blp.route("/work/settings/withdraw", methods=["POST"])
@guard.signed_in("professional")
def work_withdraw():
    """Stop the daily digest."""
    return _withdraw("settings.work")


def _own() -> tuple[str, tuple[str, ...]]:
    """Whose choices these are, and of which channels: the signed-in person's own."""
    found = contact.owner_of(guard.user().role, guard.user().person)
    if found is None:
        abort(403)
    return found


def _page(endpoint: str):
    owner, channels = _own()
    held = contact.of(owner, channels)
    values, language, errors = held.addresses, held.language or str(get_locale()), {}
    if request.method == "POST":
        values = {channel: request.form.get(channel, "") for channel in channels}
        language = request.form.get("language", "")
        addresses, errors = contact.check(values, language)
        if not errors:
            contact.choose(owner, channels, addresses, language)
            return redirect(url_for(endpoint, saved=1))
    fields = [Field(name=channel, id=f"channel-{channel}", pointer=f"/{channel}", label=str(LABELS[channel]),
                    widget="text", description=str(HINTS[channel]), input_mode=INPUT[channel][0],
                    autocomplete=INPUT[channel][1], value=values.get(channel) or "",
                    errors=[_(errors[channel])] if channel in errors else [])
              for channel in channels]
    chosen = Field(name="language", id="language", pointer="/language", label=_("Language of the messages"),
                   widget="radio", selected=[language], errors=[_(errors["language"])] if "language" in errors else [])
    shown = {channel: address if channel == "sms" else _breakable(address)
             for channel, address in held.addresses.items() if address}
    return render_template("web/client/settings.html", role=guard.user().role, fields=fields, language=chosen,
                           held=held, shown=shown, withdraw=url_for(f"{endpoint}_withdraw"), quiet=_quiet_hours(),
                           digest_at=_clock(digest.AT), errors=errors), 422 if errors else 200


def _withdraw(endpoint: str):
    owner, channels = _own()
    channel = request.form.get("channel", "")
    if channel not in channels:
        return redirect(url_for(endpoint))
    contact.choose(owner, channels, {channel: None}, None)
    return redirect(url_for(endpoint, withdrawn=channel))


def _quiet_hours() -> tuple[str, str]:
    """When no text message is sent (``POLKU_SMS_QUIET_HOURS``), as the reader writes times."""
    return tuple(_clock(time.fromisoformat(t)) for t in current_app.config["POLKU_SMS_QUIET_HOURS"].split("-"))


def _clock(at: time) -> str:
    locale = get_locale()
    return format_time(at, ENGLISH["time"] if locale.language == "en" else "short", locale=locale)


def _breakable(address: str) -> Markup:
    """An address that may wrap after its ``@``, dots, hyphens, underscores and plus signs, so that a long one fits
    a phone's narrow card (a grid cell is as wide as its longest unbreakable word)."""
    return Markup("".join(f"{escape(part)}<wbr>" if part in BREAK_AFTER else str(escape(part))
                          for part in re.split(r"([@._+-])", address)))
