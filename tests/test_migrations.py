"""Schema migrations: `flask db upgrade` on an empty database gives exactly the models' schema."""

import json
from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import text

from orchestrator import engine
from orchestrator.extensions import db
from orchestrator.tools import deploy

SAMPLES = Path(__file__).parents[1] / "bpmn"
AT = datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_upgrade_from_empty_matches_models(ctx):
    with db.engine.begin() as conn:
        db.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_upgrade_keeps_a_deployed_version_the_same_version_and_tells_where_its_tasks_stand(ctx, api):
    """Versions deployed before were known by their bytes, task rows by their documents only: the upgrade
    works out both, so redeploying the same package after it is no new version."""
    with db.engine.begin() as conn:
        db.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(revision="e5c1a9d4b7f2")
    package = deploy.from_dir(SAMPLES / "esitieto", SAMPLES.parent / "forms")
    compiled = engine.compile_files(package.files, package.form, package.pages)
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO pathway (id, key, name, created_at) VALUES (1, 'esitieto', 'E', :at)"),
                     {"at": AT})
        conn.execute(
            text("INSERT INTO pathway_version (id, pathway_id, number, content_hash, process_id, name, spec, task_meta,"
                 " forms, sources, messages, kind, settings, content, deployed_by, deployed_at) VALUES (1, 1, 1, "
                 "'bytes', :pid, 'E', :spec, :meta, :forms, :sources, '[]', 'professional', :settings, :content, "
                 "'cli', :at)"),
            {"pid": compiled.process_id, "spec": json.dumps(compiled.spec), "meta": json.dumps(compiled.task_meta),
             "forms": json.dumps(compiled.forms), "sources": json.dumps(compiled.sources),
             "settings": json.dumps(compiled.settings), "content": json.dumps(compiled.content), "at": AT})
        conn.execute(text("INSERT INTO instance (id, version_id, status, head, serializer_version, lock_version, "
                          "started_by, created_at, updated_at) VALUES (1, 1, 'running', '{}', '1', 1, 'x', :at, :at)"),
                     {"at": AT})
        conn.execute(text("INSERT INTO task_state (instance_id, task_id, scope, doc) VALUES (1, 't', '', :doc)"),
                     {"doc": json.dumps({"task_spec": "esitietolomake", "state": 16})})
    upgrade()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT content_hash FROM pathway_version")).scalar_one() == compiled.content_hash
        assert conn.execute(text("SELECT spec, state FROM task_state")).one() == ("esitietolomake", "READY")
    [again] = deploy.deploy([package], "cli")
    assert (again.created, again.version.number) == (False, 1)
