"""Backup and restore as an operator does them, with scripts/backup-postgres and scripts/restore-postgres: instances
left waiting on a person's task and on a timer go on from the backup in a fresh PostgreSQL server, where the timer
that fell due while the service was down fires when the scheduler starts, and nothing of the original is lost."""

import os
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from config import TestConfig
from orchestrator import create_app
from orchestrator.clock import CLOCK
from orchestrator.core import scheduler
from orchestrator.extensions import db
from orchestrator.models import Instance

from .conftest import ROOT, Api, Client, dispose
from .fixtures import postgres_server
from .fixtures import timer_shapes as shapes
from .fixtures.builders import chain_bpmn
from .helpers import deploy_bpmn, open_task

START = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
TOOLS = postgres_server.bindir()
pytestmark = [
    pytest.mark.skipif(not TestConfig.SQLALCHEMY_DATABASE_URI.startswith("postgresql"),
                       reason="backup and restore are PostgreSQL's (pg_dump, pg_restore): run under .ci/with-postgres"),
    pytest.mark.skipif(TOOLS is None, reason="no PostgreSQL server binaries (initdb, pg_ctl, pg_dump, pg_restore)"),
    pytest.mark.clock(START),
]


# A write the service has begun and not yet committed when the backup starts.
IN_FLIGHT = ("INSERT INTO access_log (at, actor, role, client_id, object_type, object_id, purpose, route) "
             "VALUES (now(), 'Hanna Virtanen', 'professional', 'asiakas-1', 'instance', '1', 'care', 'instances')")


@pytest.fixture(scope="module")
def fresh():
    """A PostgreSQL server of its own, as a new host would have: each test makes its database there."""
    with postgres_server.server(TOOLS) as server:
        yield server


def script(name: str, *args: str, database: str) -> subprocess.CompletedProcess:
    """An operator's script run as the service's user runs it: POLKU_DATABASE_URL names the database."""
    env = {**os.environ, "POLKU_DATABASE_URL": database, "PYTHON": sys.executable}
    return subprocess.run([str(ROOT / "scripts" / name), *args], env=env, capture_output=True, text=True,
                          timeout=120)


def migrated(app) -> None:
    """The schema made by the migrations, as in service (and its revision with it)."""
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()


def contents(app) -> dict[str, tuple[int, str]]:
    """Every table's row count and a digest of its rows."""
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("SET LOCAL TIME ZONE 'UTC'"))  # rows as text: the same whatever the server's zone
        tables = conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).all()
        return {table: tuple(conn.execute(text(
            f"SELECT count(*), md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) FROM \"{table}\" AS r"
        )).one()) for table in tables}


def sequences(app) -> dict[str, int]:
    """Where each id sequence stands (0: never used)."""
    with app.app_context(), db.engine.connect() as conn:
        return {name: value or 0 for name, value in conn.execute(text(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"))}


def restored_app(url: str):
    class Restored(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Restored)
    app.test_client_class = Client
    return app


def until_open(app, instance_id: int, spec: str, within: float = 10) -> None:
    """Wait for the running scheduler to open the task."""
    deadline = time.monotonic() + within
    with app.app_context():
        while open_task(instance_id, spec) is None:
            assert time.monotonic() < deadline, f"{spec} did not open within {within} s"
            time.sleep(0.05)


def test_instances_go_on_from_a_backup_restored_into_a_fresh_server(app, api, clock, tmp_path, fresh):
    migrated(app)
    with app.app_context():
        deploy_bpmn("ketju", chain_bpmn(2))
        deploy_bpmn("odotus", shapes.intermediate("timeDuration", "PT1H"))
    at_first = api.start("ketju", client_id="asiakas-1")  # waits on its first task
    at_second = api.start("ketju", client_id="asiakas-2")
    assert api.complete(at_second["tasks"][0]["id"], {}).json["tasks"][0]["spec"] == "t2"  # waits on its second
    ended = api.start("ketju", client_id="asiakas-3")
    then = api.complete(ended["tasks"][0]["id"], {}).json["tasks"][0]["id"]
    assert api.complete(then, {}).json["status"] == "completed"
    timed = api.start("odotus", client_id="asiakas-4")  # waits on a timer due at START + 1 h
    assert timed["timers"][0]["due_at"].startswith("2027-03-01T09:00:00")
    for instance in (at_first, at_second, ended, timed):
        assert api.get(f"/api/v1/instances/{instance['id']}").status_code == 200  # the access log has each
    before, numbered = contents(app), sequences(app)
    counted = {table: before[table][0] for table in ("instance", "human_task", "timer")}
    assert counted == {"instance": 4, "human_task": 5, "timer": 1}
    assert before["event"][0] > 4 and before["access_log"][0] >= 4

    with app.app_context(), db.engine.connect() as busy:  # the service goes on writing during the backup
        busy.execute(text(IN_FLIGHT))
        made = script("backup-postgres", str(tmp_path), database=app.config["SQLALCHEMY_DATABASE_URI"])
        busy.commit()  # committed after the backup's snapshot: not in it, neither half nor whole
    assert made.returncode == 0, made.stderr
    assert contents(app)["access_log"][0] == before["access_log"][0] + 1
    backup = Path(made.stdout.strip())
    assert backup.parent == tmp_path and backup.name.startswith("polku-") and backup.suffix == ".dump"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600  # clients' health data: the owner's only
    assert not list(tmp_path.glob("*.partial*"))

    # A new host: another server, and a role other than the original's (the restore gives it everything).
    url = fresh.database("polku", "palvelu", "vaihda-tama")
    restored = script("restore-postgres", str(backup), database=url)
    assert restored.returncode == 0, restored.stderr
    assert "migrations: ok" in restored.stderr
    again = restored_app(url)
    try:
        assert contents(again) == before  # every row of every table, the write in flight not at all
        # No id is given twice: each sequence stands at least where it stood (the write in flight took one).
        assert {name: at >= numbered[name] for name, at in sequences(again).items()} == dict.fromkeys(numbered, True)
        client = again.test_client()
        assert client.get("/readyz").status_code == 200
        go_on(again, Api(client), at_first["id"], at_second["id"], timed["id"])
        with again.app_context():
            assert set(db.session.scalars(select(Instance.status))) == {"completed"}
            after = contents(again)
            with pytest.raises(DBAPIError, match="append-only"):  # its protection came along
                db.session.execute(text("DELETE FROM access_log"))
            db.session.rollback()
        assert after["instance"][0] == 4 and after["timer"][0] == 0
        assert after["event"][0] > before["event"][0] and after["access_log"][0] > before["access_log"][0]
    finally:
        dispose(again)


def go_on(app, api: Api, at_first: int, at_second: int, timed: int) -> None:
    """Each waiting instance to its end: the timer that fell due while the service was down fires as the
    scheduler starts; the open tasks, found as the backup left them, are answered."""
    CLOCK.set(START + timedelta(hours=2))
    running = scheduler.start(app)
    try:
        until_open(app, timed, "jatko")
        ready = app.test_client().get("/readyz")
        assert ready.status_code == 200 and ready.json["checks"]["scheduler"] == {"ok": True, "running": True}
    finally:
        running.shutdown()
    for instance_id, spec in ((timed, "jatko"), (at_second, "t2"), (at_first, "t1"), (at_first, "t2")):
        with app.app_context():
            task_id = open_task(instance_id, spec).id
        assert api.complete(task_id, {}).status_code == 200, spec


def test_a_restore_into_a_database_that_holds_anything_is_refused(app, tmp_path, fresh):
    migrated(app)
    with app.app_context():
        deploy_bpmn("ketju", chain_bpmn(1))
    made = script("backup-postgres", str(tmp_path / "polku.dump"), database=app.config["SQLALCHEMY_DATABASE_URI"])
    assert made.returncode == 0, made.stderr
    url = fresh.database("kaytossa", "kaytossa", "vaihda-tama")
    fresh.psql("CREATE TABLE muistiinpano (teksti text)", "INSERT INTO muistiinpano VALUES ('tärkeä')",
               database="kaytossa")

    refused = script("restore-postgres", str(tmp_path / "polku.dump"), database=url)
    assert refused.returncode == 1
    assert "database 'kaytossa' on 127.0.0.1" in refused.stderr and "is not empty" in refused.stderr
    assert "public.muistiinpano" in refused.stderr and "nothing was changed" in refused.stderr
    assert fresh.psql("SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'",
                      "SELECT teksti FROM muistiinpano", database="kaytossa") == "muistiinpano\ntärkeä\n"


def test_a_database_without_polkus_schema_revision_is_not_backed_up(app, tmp_path):
    """The app fixture's database has the tables but no migration history: not a database the service runs on."""
    made = script("backup-postgres", str(tmp_path / "polku.dump"), database=app.config["SQLALCHEMY_DATABASE_URI"])
    assert made.returncode == 1
    assert "has no Polku schema revision" in made.stderr and "flask --app orchestrator db upgrade" in made.stderr
    assert list(tmp_path.iterdir()) == []  # a failed backup leaves no file behind
