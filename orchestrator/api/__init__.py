"""REST API under /api/v1: one blueprint per resource, all thin."""

import math

from flask import Flask, current_app, jsonify, request
from flask_smorest import Api, abort
from sqlalchemy import select
from werkzeug.exceptions import BadRequest
from werkzeug.http import HTTP_STATUS_CODES

from ..auth import access, demo, guard, sessions
from ..core.refusal import Refused
from ..extensions import csrf, db
from ..models import Instance, UserSession

PUBLIC = ("/api/v1/openapi.json",)


def actor() -> str:
    """How the history names the caller."""
    return guard.actor()


def log_shown(shown: dict, object_type: str, by_instance: bool = False) -> None:
    """One access-log row for each client whose data this response shows (keys: client ids, or instance ids)."""
    if by_instance:
        owners = dict(db.session.execute(select(Instance.id, Instance.client_id)
                                         .where(Instance.id.in_(list(shown)))).all())
        shown = {owners.get(key): value for key, value in shown.items()}
    shown = {client: value for client, value in shown.items() if client}
    if shown:
        access.record_each(shown, object_type, access.purpose())


def authenticate() -> None:
    """Who calls the API: a signed-in person (the session cookie), a service with its bearer token, or,
    in development only, whoever the X-Polku-Actor header names (a demo person acts as that person).
    Nobody else gets past here."""
    if not request.path.startswith("/api/") or request.path in PUBLIC:
        return
    if sessions.current() is not None:
        if request.method == "POST":  # a cookie also rides along with another site's form post
            csrf.protect()
        return
    sessions.per_request()["user"] = _service_or_dev_caller()


def _service_or_dev_caller():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    services = current_app.config["POLKU_SERVICE_TOKENS"]
    if scheme.lower() == "bearer" and token and token in services:
        return guard.Service(services[token])
    name = (request.headers.get("X-Polku-Actor") or "").strip()[:200]
    if name and demo.dev_sign_in_allowed():
        known = demo.BY_KEY.get(name)
        if known is None:
            return guard.Service(name, method="dev")
        return UserSession(person=demo.person_for(known), role=known.role, method="dev")
    abort(401, message="sign in, or send a service's bearer token")


def refusal(refused: Refused):
    """A refusal in the same JSON shape as every other API error: code, status, message and, if any, errors."""
    status = refused.status
    body = {"code": status, "status": HTTP_STATUS_CODES.get(status, "Error"), "message": refused.message}
    if refused.errors is not None:
        body["errors"] = refused.errors
    return jsonify(body), status


MAX_DEPTH = 32
MAX_INT = 10**18 - 1  # whole numbers of up to 18 digits: every count, measure and id care data has
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _bad_value(value, path: str = "", depth: int = 0) -> str | None:
    """Why a value cannot be stored (with its JSON pointer), or None.

    No care data holds NUL characters (PostgreSQL text cannot), text that is not valid Unicode (a lone
    surrogate cannot be stored as UTF-8), NaN or infinities (JSON has none), whole numbers beyond 64 bits,
    or nesting deeper than any form draws.
    """
    if depth > MAX_DEPTH:
        return f"nested more than {MAX_DEPTH} levels deep (at {path})"
    if isinstance(value, str):
        return _bad_text(value, path or "/")
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a number JSON allows (at {path or '/'})"
    if isinstance(value, int) and not -MAX_INT <= value <= MAX_INT:
        return f"a whole number of more than 18 digits is not allowed (at {path or '/'})"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        problem = _bad_text(str(key), f"{path}/…")
        if problem:
            return problem
        found = _bad_value(item, f"{path}/{key}", depth + 1)
        if found:
            return found
    return None


def _bad_text(text: str, path: str) -> str | None:
    if "\x00" in text:
        return f"NUL characters are not allowed (in {path})"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return f"the text is not valid Unicode (a lone surrogate, in {path})"
    return None


def check_input():
    """Refuse at the door what no care data contains and the database could not store (pages and API)."""
    if "\x00" in request.path:
        abort(400, message="NUL characters are not allowed (in path)")
    try:  # a body that cannot be read is a 400 here, whatever reads it later (a number of 5,000 digits, say)
        body = request.get_json() if request.is_json and request.get_data(cache=True) else None
    except RecursionError:
        abort(400, message=f"the JSON body is nested more than {MAX_DEPTH} levels deep")
    except BadRequest as unreadable:
        abort(400, message=f"the JSON body cannot be read: {unreadable.description}")
    form = request.form.to_dict(flat=False) if request.mimetype in FORM_TYPES else {}
    problem = _bad_value(request.args.to_dict(flat=False)) or _bad_value(form) or _bad_value(body)
    if problem:
        abort(400, message=problem)


def register(app: Flask, api: Api) -> None:
    from . import channels, instances, messages, metrics, notifications, offers, operations, parity, pathways, tasks

    for module in (pathways, instances, offers, tasks, messages, notifications, metrics):
        api.register_blueprint(module.blp, url_prefix=f"/api/v1/{module.blp.name}")
    api.register_blueprint(operations.blp, url_prefix="/api/v1")  # its routes name their resources
    parity.register(api)  # messages, measurements, diaries, results and own data: their routes name their resources
    api.register_blueprint(channels.blp, url_prefix="/api/v1")  # its routes name their resources (/me/channels)
    api.spec.components.security_scheme("service", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme("session", {"type": "apiKey", "in": "cookie", "name": "polku_session"})
    api.spec.components.security_scheme("actor", {"type": "apiKey", "in": "header", "name": "X-Polku-Actor",
                                                  "description": "development only"})
