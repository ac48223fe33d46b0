"""Template helpers: dates and numbers in the reader's language, times in Europe/Helsinki."""

from flask import Flask, request, url_for
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from markdown_it import MarkdownIt
from markupsafe import Markup

from ..clock import now
from . import charts, sessions

STATUS = {"running": _l("Active"), "incident": _l("Active (being checked)"), "completed": _l("Ended"),
          "cancelled": _l("Ended early")}
ROLES = {"client": _l("Client"), "professional": _l("Professional"), "designer": _l("Pathway designer"),
         "admin": _l("Administrator"), "service": _l("Information system")}
OBJECTS = {"pathway-list": _l("List of pathways"), "instance": _l("Pathway"), "task": _l("Task and answers"),
           "access-log": _l("Access log"), "client": _l("Client's pathways"), "inbox": _l("Task inbox"),
           "instance-list": _l("List of pathways"), "task-list": _l("List of tasks"),
           "notification": _l("Notification"), "notification-list": _l("Notifications"),
           "offer": _l("Pathway opened for you"), "content": _l("Content page"), "measurements": _l("Measurements"),
           "diary": _l("Diary"), "messages": _l("Messages")}
OFFER_STATES = {"pending": _l("Waiting for the client's consent"), "declined": _l("The client did not consent"),
                "accepted": _l("Consent given")}
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


def when(value, style: str = "medium") -> str:
    return format_datetime(value, style) if value is not None else ""


def day(value) -> str:
    return format_date(value, "medium") if value is not None else ""


def register(app: Flask) -> None:
    app.jinja_env.filters.update(when=when, day=day, markdown=markdown, status=lambda s: STATUS.get(s, s),
                                 offer_state=lambda s: OFFER_STATES.get(s, s), number=format_decimal)
    app.jinja_env.globals["chart"] = lambda series: charts.line_chart(series, app.config["POLKU_TIME_ZONE"])

    @app.context_processor
    def page_globals():
        return {"current_user": sessions.current() if not request.path.startswith("/static/") else None,
                "locale": str(get_locale()), "languages": LANGUAGE_NAMES, "now": now(), "roles": ROLES,
                "objects": OBJECTS, "purposes": PURPOSES,
                "lang_url": lambda code: url_for("lang.choose", code=code, next=request.full_path.rstrip("?"))}
