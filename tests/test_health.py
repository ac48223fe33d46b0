"""What a load balancer and an operator ask of a process: alive, and ready (database, schema, scheduler)."""

import re
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import text

from orchestrator.core import scheduler
from orchestrator.extensions import db


def newest() -> str:
    folder = Path(__file__).parents[1] / "migrations" / "versions"
    revisions = {re.search(r"^revision = '(\w+)'", p.read_text(), re.M).group(1) for p in folder.glob("*.py")}
    parents = {re.search(r"^down_revision = '(\w+)'", p.read_text(), re.M).group(1) for p in folder.glob("*.py")
               if re.search(r"^down_revision = '(\w+)'", p.read_text(), re.M)}
    [head] = revisions - parents
    return head


def migrated() -> None:
    with db.engine.begin() as conn:
        db.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade()


def test_alive_without_sign_in(client):
    answer = client.get("/healthz")
    assert (answer.status_code, answer.json) == (200, {"status": "ok"})


def test_ready_when_the_schema_is_this_codes_and_not_before(app, client, ctx):
    before = client.get("/readyz")
    assert before.status_code == 503 and before.json["checks"]["database"] == {"ok": True}
    assert "flask db upgrade" in before.json["checks"]["migrations"]["detail"]
    migrated()
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json["checks"]["migrations"] == {"ok": True, "revision": newest()}
    assert ready.json["checks"]["scheduler"] == {"ok": True, "running": False,
                                                 "detail": "this process runs no timer scheduler"}


def test_not_ready_when_its_scheduler_has_stopped(app, client, ctx):
    migrated()
    running = scheduler.start(app)
    try:
        assert client.get("/readyz").json["checks"]["scheduler"] == {"ok": True, "running": True}
    finally:
        running.shutdown()
    stopped = client.get("/readyz")
    assert stopped.status_code == 503 and stopped.json["checks"]["scheduler"]["detail"] == \
        "the timer scheduler stopped"
