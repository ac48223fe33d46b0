"""Template helpers: dates and numbers in the reader's language, times in Europe/Helsinki (or the zone given), and
the language of a pathway's own texts."""

from zoneinfo import ZoneInfo

from babel import dates
from flask import Flask, request, url_for
from flask_babel import format_date, format_datetime, format_decimal, get_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markdown_it import MarkdownIt
from markupsafe import Markup

from ..auth import sessions
from ..care.messaging import NOTICE
from ..clock import now
from ..engine import measurements
from ..metrics.names import UNITS
from . import charts

STATUS = {"running": _l("Active"), "incident": _l("Active (being checked)"),
          "suspended": _l("Active (on hold)"), "completed": _l("Ended"),
          "cancelled": _l("Ended early")}
ROLES = {"client": _l("Client"), "professional": _l("Professional"), "designer": _l("Pathway designer"),
         "admin": _l("Administrator"), "service": _l("Information system")}
OBJECTS = {"export": _l("All my data (download)"), "print": _l("All my data (to read and print)"),
           "pathway-list": _l("List of pathways"), "instance": _l("Pathway"), "task": _l("Task and answers"),
           "access-log": _l("Access log"), "client": _l("Client's pathways"), "inbox": _l("Task inbox"),
           "instance-list": _l("List of pathways"), "task-list": _l("List of tasks"),
           "notification": _l("Notification"), "notification-list": _l("Notifications"),
           "offer": _l("Pathway opened for you"), "content": _l("Content page"), "measurements": _l("Measurements"),
           "diary": _l("Diary"), "messages": _l("Messages")}
OFFER_STATES = {"pending": _l("Waiting for the client's consent"), "declined": _l("The client did not consent"),
                "accepted": _l("Consent given")}
METRIC_NAMES = {
    "clients_started": _l("Clients started"), "clients_active": _l("Clients on the pathway"),
    "clients_ended": _l("Clients ended"), "response_rate": _l("Response rate"),
    "answering_regularly": _l("Clients answering regularly"), "messages": _l("Messages from clients"),
    "replies": _l("Replies from the team"), "reply_median_hours": _l("Reply time, median"),
    "reply_p90_hours": _l("Reply time, 90th percentile"), "within_promise": _l("Replies within the service promise"),
    "nps": _l("NPS"), "ces": _l("CES (1–7)"), "content_views": _l("Content views"),
    "professional_tasks": _l("Tasks handled by professionals"), "handling_median_hours": _l("Handling time, median"),
    "reminders_sent": _l("Reminders sent"), "answered_after_reminder": _l("Answered after a reminder"),
}
LIGHTS = {"green": _l("Green"), "yellow": _l("Yellow"), "red": _l("Red")}
PURPOSES = {"own-data": _l("Own use"), "care": _l("Care"), "integration": _l("Information system")}
LANGUAGE_NAMES = {"fi": "Suomeksi", "sv": "På svenska", "en": "In English"}


# Pathway text is Markdown written by designers: raw HTML in it is shown as text, never run.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def markdown(text: str | None) -> Markup:
    """Instructions as HTML; their headings start below the page's own title (h2 and down)."""
    tokens = _MARKDOWN.parse(text or "")
    for token in tokens:
        if token.type in ("heading_open", "heading_close") and token.tag == "h1":
            token.tag = "h2"
    return Markup(_MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {}))


# English as read outside the United States: the day before the month, the 24-hour clock ("6 Dec 2026, 15:49").
ENGLISH = {"date": "d MMM y", "datetime": "d MMM y, HH:mm", "time": "HH:mm", "MMMEd": "EEE d MMM",
           "yMMMEd": "EEE d MMM y"}


def _english() -> bool:
    return get_locale().language == "en"


def when(value, style: str = "medium") -> str:
    if value is None:
        return ""
    return format_datetime(value, ENGLISH["datetime"] if _english() else style)


def day(value, zone: str | None = None) -> str:
    """The date of a moment, on the calendar of ``zone`` (the service's when None)."""
    if value is None:
        return ""
    return format_date(value.astimezone(ZoneInfo(zone)).date() if zone else value,
                       ENGLISH["date"] if _english() else "medium")


def moment(value, zone: str | None = None) -> str:
    """A moment as people say it, in the reader's language and on the clock of ``zone`` (the service's when None):
    "today at 19:00", "tomorrow at 07:00", "yesterday at 07:00", else the weekday and the date (with the year
    when it is not this year) and the time."""
    if value is None:
        return ""
    tz, locale = ZoneInfo(zone) if zone else get_timezone(), get_locale()
    local, today = value.astimezone(tz), now().astimezone(tz).date()
    english = locale.language == "en"
    time = dates.format_time(local, ENGLISH["time"] if english else "short", tzinfo=tz, locale=locale)
    days = (local.date() - today).days
    if days == 0:
        return _("today at %(time)s", time=time)
    if days == 1:
        return _("tomorrow at %(time)s", time=time)
    if days == -1:
        return _("yesterday at %(time)s", time=time)
    skeleton = "MMMEd" if local.year == today.year else "yMMMEd"
    date = dates.format_datetime(local, ENGLISH[skeleton], tzinfo=tz, locale=locale) if english \
        else dates.format_skeleton(skeleton, local, tzinfo=tz, locale=locale)
    return _("%(day)s at %(time)s", day=date, time=time)


def pathway_language(version=None) -> str:
    """The language a pathway's own texts are written in (titles, instructions, content, forms): its package's
    ``language`` property, Finnish when it sets none."""
    return ((getattr(version, "settings", None) or {}).get("language") or "fi") if version is not None else "fi"


def content_lang(version=None) -> Markup:
    """A ``lang`` attribute for an element holding a pathway's own text, when the page is in another language
    (WCAG 3.1.2, language of parts): `` lang="fi"`` on a Swedish or English page, nothing on a Finnish one."""
    language = pathway_language(version)
    return Markup(' lang="%s"') % language if language != str(get_locale()) else Markup("")


def after_label(label: str, message: str) -> str:
    """What follows a field's label in an error summary: a colon and the message, or only a space when the label
    ends in its own punctuation ("Mitä oireita sinulla on? Kirjoita vastaus.", never "…on?: Kirjoita")."""
    ends = str(label).rstrip()[-1:]
    return (" " if ends and ends in "?!:.…" else ": ") + message


def register(app: Flask) -> None:
    measurements.use_translation(_)  # a measurement's name in the reader's language, wherever it is shown
    app.jinja_env.filters.update(when=when, day=day, moment=moment, markdown=markdown,
                                 status=lambda s: STATUS.get(s, s), offer_state=lambda s: OFFER_STATES.get(s, s),
                                 number=format_decimal)
    app.jinja_env.globals.update(content_lang=content_lang, after_label=after_label, message_notices=NOTICE)
    app.jinja_env.globals["chart"] = lambda series: charts.line_chart(series, app.config["POLKU_TIME_ZONE"])
    app.jinja_env.globals.update(metric_names=METRIC_NAMES, lights=LIGHTS, inf=float("inf"),
                                 trend_chart=lambda trend: charts.trend_chart(
                                     str(METRIC_NAMES[trend["key"]]), UNITS[trend["key"]], trend["points"],
                                     trend["target"], charts.trend_summary(str(METRIC_NAMES[trend["key"]]),
                                                                           trend["points"])))

    @app.context_processor
    def page_globals():
        return {"current_user": sessions.current() if not request.path.startswith("/static/") else None,
                "locale": str(get_locale()), "languages": LANGUAGE_NAMES, "now": now(), "roles": ROLES,
                "objects": OBJECTS, "purposes": PURPOSES,
                "lang_url": lambda code: url_for("lang.choose", code=code, next=request.full_path.rstrip("?"))}
