"""REST API under /api/v1: one blueprint per resource, all thin."""

from flask import request
from flask_smorest import Api, abort

from ..engine import PackageInvalid
from ..steps import StepRefused


def actor() -> str:
    """Who is calling. Until sign-in arrives the caller names itself; events record it."""
    return (request.headers.get("X-Polku-Actor") or "api").strip()[:200] or "api"


def refuse(exc: StepRefused):
    abort(exc.status, message=exc.message)


def invalid(exc: PackageInvalid):
    abort(422, message=f"the pathway package is not valid: {len(exc.problems)} problem(s)",
          errors=[p.as_dict() for p in exc.problems])


def register(api: Api) -> None:
    from . import instances, messages, pathways, tasks

    for module in (pathways, instances, tasks, messages):
        api.register_blueprint(module.blp, url_prefix=f"/api/v1/{module.blp.name}")
    api.spec.components.security_scheme("actor", {"type": "apiKey", "in": "header", "name": "X-Polku-Actor"})
