"""Database settings the issue asks for."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from config import TestConfig
from orchestrator import create_app
from orchestrator.extensions import db


def test_sqlite_runs_in_wal_mode_with_foreign_keys_on(tmp_path):
    """The embedded default, whatever database the rest of the suite runs on."""

    class SQLiteConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'oletus.db'}"

    with create_app(SQLiteConfig).app_context():
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        db.engine.dispose()


def test_rows_must_belong_to_an_instance(ctx):
    orphan = text("INSERT INTO event (instance_id, at, actor, kind) VALUES (999, CURRENT_TIMESTAMP, 'x', 'y')")
    with pytest.raises(IntegrityError, match="(?i)foreign key"), db.engine.begin() as conn:
        conn.execute(orphan)
