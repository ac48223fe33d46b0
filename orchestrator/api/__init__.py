"""REST API under /api/v1: one blueprint per resource, all thin."""

import math

from flask import Flask, jsonify, request
from flask_smorest import Api, abort
from werkzeug.http import HTTP_STATUS_CODES

from ..engine import PackageInvalid
from ..forms import InvalidAnswers
from ..steps import StepRefused


def actor() -> str:
    """Who is calling. Until sign-in arrives the caller names itself; events record it."""
    return (request.headers.get("X-Polku-Actor") or "api").strip()[:200] or "api"


def _error(status: int, message: str, errors: list | None = None):
    """The same JSON shape as every other API error: code, status, message and, if any, errors."""
    body = {"code": status, "status": HTTP_STATUS_CODES.get(status, "Error"), "message": message}
    if errors is not None:
        body["errors"] = errors
    return jsonify(body), status


ERRORS = {
    StepRefused: lambda e: _error(e.status, e.message),
    InvalidAnswers: lambda e: _error(422, "the answers do not fit the form", e.errors),
    PackageInvalid: lambda e: _error(422, f"the pathway package is not valid: {len(e.problems)} problem(s)",
                                     [p.as_dict() for p in e.problems]),
}


MAX_DEPTH = 32
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _bad_value(value, path: str = "", depth: int = 0) -> str | None:
    """Why a value cannot be stored (with its JSON pointer), or None.

    No care data holds NUL characters (PostgreSQL text cannot), NaN or infinities (JSON has none),
    or nesting deeper than any form draws.
    """
    if depth > MAX_DEPTH:
        return f"nested more than {MAX_DEPTH} levels deep (at {path})"
    if isinstance(value, str):
        return f"NUL characters are not allowed (in {path or '/'})" if "\x00" in value else None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a number JSON allows (at {path or '/'})"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if "\x00" in str(key):
            return f"NUL characters are not allowed (in {path}/{key})"
        found = _bad_value(item, f"{path}/{key}", depth + 1)
        if found:
            return found
    return None


def check_input():
    """Refuse at the door what no care data contains and the database could not store."""
    if not request.path.startswith("/api/"):
        return
    if "\x00" in request.path:
        abort(400, message="NUL characters are not allowed (in path)")
    try:
        body = request.get_json(silent=True) if request.is_json else None
    except RecursionError:
        abort(400, message=f"the JSON body is nested more than {MAX_DEPTH} levels deep")
    form = request.form.to_dict(flat=False) if request.mimetype in FORM_TYPES else {}
    problem = _bad_value(request.args.to_dict(flat=False)) or _bad_value(form) or _bad_value(body)
    if problem:
        abort(400, message=problem)


def register(app: Flask, api: Api) -> None:
    from . import instances, messages, notifications, pathways, tasks

    for exc_class, handler in ERRORS.items():
        app.register_error_handler(exc_class, handler)
    for module in (pathways, instances, tasks, messages, notifications):
        api.register_blueprint(module.blp, url_prefix=f"/api/v1/{module.blp.name}")
    api.spec.components.security_scheme("actor", {"type": "apiKey", "in": "header", "name": "X-Polku-Actor"})
