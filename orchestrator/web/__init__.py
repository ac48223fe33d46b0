"""Server-rendered pages for clients, professionals, designers and administrators.

Pages work without JavaScript. Every form post carries a CSRF token; every page is Finnish first,
with Swedish and English; every view that shows a client's data goes through ``guard`` and writes
one ``access`` row.
"""

from urllib.parse import urlsplit

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError

from .. import extensions
from ..extensions import babel, csrf
from .i18n import local_path

ERROR_PAGES = (400, 403, 404, 405, 409, 413, 422, 500, 503)


def init(app: Flask) -> None:
    from ..auth import oidc
    from . import (
        admin,
        client,
        consent,
        conversation,
        dashboards,
        diagrams,
        filters,
        health,
        i18n,
        opening,
        operations,
        settings,
        sign_in,
        work,
    )

    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # checked below, for pages only (the API has none)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.locale, timezone_selector=lambda: app.config["BABEL_DEFAULT_TIMEZONE"])
    oidc.init(app)
    for blp in (sign_in.blp, i18n.blp, client.blp, consent.blp, conversation.client_blp, work.blp, opening.blp,
                conversation.work_blp, admin.blp, dashboards.blp, diagrams.blp, operations.blp, settings.blp,
                health.blp):
        app.register_blueprint(blp)
    filters.register(app)

    @app.before_request
    def check_csrf():
        if request.method == "POST" and not request.path.startswith("/api/"):
            csrf.protect()

    @app.after_request
    def page_headers(response):
        if not request.path.startswith("/api/"):
            # A page with charts shows them as data: SVG images (see web/charts.py); so does bpmn-js on a diagram
            # page (web/diagrams.py), in the breadcrumbs of a collapsed subprocess. Its styles are set through
            # the DOM, which the policy allows without 'unsafe-inline'.
            styles = "; img-src 'self' data:" if g.get("chart_images") or g.get("diagram") else ""
            response.headers.setdefault("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; "
                                        "form-action 'self'; base-uri 'none'; object-src 'none'" + styles)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.register_error_handler(CSRFError, _csrf_refused)
    for status in ERROR_PAGES:
        app.register_error_handler(status, _page_error(status))


def refusal(refused):
    """The error page for something that cannot be done: why, in the reader's language, and a way back."""
    return render_template("web/error.html", status=refused.status, reason=refused.translated(gettext),
                           back=_way_back()), refused.status


def _way_back() -> str | None:
    """After a post, the page it was sent from (this site's own), or the posted address when it is a page."""
    if request.method != "POST":
        return None
    came_from = urlsplit(request.referrer or "")
    if came_from.netloc == request.host and came_from.path != request.path:
        return local_path(came_from.path + (f"?{came_from.query}" if came_from.query else ""), "") or None
    adapter = current_app.url_map.bind_to_environ(request.environ)
    return request.path if adapter.test(request.path, method="GET") else None


def _page_error(status: int):
    def handler(error):
        if request.path.startswith("/api/"):
            return extensions.api.handle_http_exception(error)  # the API answers in JSON
        return render_template("web/error.html", status=status, reason=getattr(error, "description", None)), status

    return handler


def _csrf_refused(error: CSRFError):
    if request.path.startswith("/api/"):
        return jsonify(code=400, status="Bad Request", message=f"CSRF check failed: {error.description}"), 400
    return render_template("web/error.html", status=400, reason=error.description), 400
