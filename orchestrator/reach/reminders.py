"""A client's reminders and notices reach her by the channels she chose: e-mail, SMS, or both.

Written in the step's own transaction, as outbox rows, beside the notification she sees in Polku. What
leaves Polku never tells anything of her health, not even which pathway she is on: only that something is
waiting for her, with a link, in the language she chose. An SMS that falls due in the quiet hours (21–08
local time unless configured) waits until they end.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from ..core import outbox
from ..core.refusal import N_
from ..extensions import db
from ..models import ContactChoice

SUBJECT = N_("Polku: something is waiting for you")
# Not even the pathway's name: that a person is on a weight-management pathway is itself a health detail.
TEXT = {"reminder": N_("A reminder from Polku: a task is waiting for you. Sign in to see it: %(link)s"),
        "notice": N_("Polku has news for you. Sign in to read it: %(link)s"),
        "message": N_("You have a new message in Polku. Sign in to read it: %(link)s")}


def choices(owner: str) -> dict[str, ContactChoice]:
    """Someone's channels (by client id or professional's login) as last chosen; a withdrawn one is left out."""
    latest = (select(func.max(ContactChoice.id)).where(ContactChoice.owner == owner)
              .group_by(ContactChoice.channel))
    found = db.session.scalars(select(ContactChoice).where(ContactChoice.id.in_(latest))).all()
    return {choice.channel: choice for choice in found if choice.address}


def for_notices(notices: list[dict]) -> list[dict]:
    """Outbox rows for the client notices among ``notices`` (notification rows), by each client's channels."""
    rows, chosen = [], {}
    for notice in notices:
        if notice["audience"] != "client" or not notice["recipient"] or notice["kind"] not in TEXT:
            continue
        if notice["recipient"] not in chosen:  # a step's notices are mostly one client's: read hers once
            chosen[notice["recipient"]] = choices(notice["recipient"])
        for channel, choice in chosen[notice["recipient"]].items():
            if channel not in ("email", "sms"):
                continue
            subject, text = _words(choice.language, notice["kind"], notice["instance_id"])
            due = quiet_until(notice["created_at"]) if channel == "sms" else None
            rows.append(outbox.message(channel, choice.address, text, notice["kind"], notice["instance_id"],
                                       subject if channel == "email" else None, due))
    return rows


def _words(language: str, kind: str, instance_id: int) -> tuple[str, str]:
    link = f"{current_app.config['POLKU_PUBLIC_URL'].rstrip('/')}/me/pathways/{instance_id}"
    with force_locale(language):
        return gettext(SUBJECT), gettext(TEXT[kind], link=link)


def quiet_until(at: datetime) -> datetime:
    """``at``, or the end of the quiet hours it falls in (local time of the service)."""
    start, end = (time.fromisoformat(t) for t in current_app.config["POLKU_SMS_QUIET_HOURS"].split("-"))
    zone = ZoneInfo(current_app.config["POLKU_TIME_ZONE"])
    local = at.astimezone(zone)
    quiet = local.time() >= start or local.time() < end if start > end else start <= local.time() < end
    if not quiet:
        return at
    day = local.date() + timedelta(days=1) if start > end and local.time() >= start else local.date()
    return datetime.combine(day, end, zone).astimezone(at.tzinfo)


def in_step(instance, info, kind: str, event: dict, projected) -> None:
    """The step's client notices, by the channels each client chose (registered as a step's writer)."""
    if projected is not None and projected.notices and instance.client_id:
        outbox.add(for_notices(projected.notices))
