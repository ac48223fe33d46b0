"""What a load balancer and an operator ask of a server process: is it alive (``/healthz``), and may it be sent
work (``/readyz``: its database answers, the database's schema is the one this code needs, and its timer
scheduler runs where this process should run one). Plain JSON, no sign-in, nothing of anyone's data."""

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db

blp = Blueprint("health", __name__)


@blp.route("/healthz")
def alive():
    """The process answers."""
    return jsonify(status="ok")


@blp.route("/readyz")
def ready():
    """Each check with its finding; 503 when any fails, so that no work is sent here."""
    checks = {"database": _database(), "migrations": _migrations(), "scheduler": _scheduler()}
    ok = all(found["ok"] for found in checks.values())
    return jsonify(status="ok" if ok else "not ready", checks=checks), 200 if ok else 503


def _database() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True}
    except SQLAlchemyError as exc:
        return {"ok": False, "detail": f"the database does not answer: {type(exc).__name__}"}
    finally:
        db.session.rollback()


def _migrations() -> dict:
    """The database's schema revision against the newest migration this code carries."""
    try:
        with db.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except SQLAlchemyError as exc:
        return {"ok": False, "detail": f"cannot read the schema's revision: {type(exc).__name__}"}
    wanted = _heads()
    if current == wanted:
        return {"ok": True, "revision": ", ".join(sorted(current))}
    return {"ok": False, "revision": ", ".join(sorted(current)) or None, "wanted": ", ".join(sorted(wanted)),
            "detail": "the database is not at this code's schema: run `flask db upgrade`"}


def _heads() -> set[str]:
    """The newest migrations this code carries: read from the scripts once per process (a load balancer asks
    every few seconds)."""
    found = current_app.extensions.get("polku_migration_heads")
    if found is None:
        config = current_app.extensions["migrate"].migrate.get_config()
        found = current_app.extensions["polku_migration_heads"] = frozenset(
            ScriptDirectory.from_config(config).get_heads())
    return set(found)


def _scheduler() -> dict:
    """Running, where this process runs one (``POLKU_SCHEDULER`` and how it was started)."""
    found = current_app.extensions.get("polku_scheduler")
    if found is None:
        return {"ok": True, "running": False, "detail": "this process runs no timer scheduler"}
    running = found.scheduler.running
    return {"ok": running, "running": running, **({} if running else {"detail": "the timer scheduler stopped"})}

