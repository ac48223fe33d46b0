"""REST API under /api/v1: one blueprint per resource, all thin."""

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


def _nul_field(value, path: str = "") -> str | None:
    """The JSON pointer of the first string holding a NUL character, or None."""
    if isinstance(value, str):
        return path or "/" if "\x00" in value else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if "\x00" in str(key):
            return f"{path}/{key}"
        found = _nul_field(item, f"{path}/{key}")
        if found:
            return found
    return None


def reject_nul_characters():
    """No care data contains NUL characters, and PostgreSQL text cannot store them: refuse them at the door."""
    if not request.path.startswith("/api/"):
        return
    where = ("path" if "\x00" in request.path else
             _nul_field(request.args.to_dict(flat=False)) or _nul_field(request.form.to_dict(flat=False))
             or (_nul_field(request.get_json(silent=True)) if request.is_json else None))
    if where:
        abort(400, message=f"NUL characters are not allowed (in {where})")


def register(app: Flask, api: Api) -> None:
    from . import instances, messages, pathways, tasks

    for exc_class, handler in ERRORS.items():
        app.register_error_handler(exc_class, handler)
    for module in (pathways, instances, tasks, messages):
        api.register_blueprint(module.blp, url_prefix=f"/api/v1/{module.blp.name}")
    api.spec.components.security_scheme("actor", {"type": "apiKey", "in": "header", "name": "X-Polku-Actor"})
