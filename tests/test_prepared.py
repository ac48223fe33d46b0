"""Statements run on the driver's cursor convert values exactly as SQLAlchemy does, in the same transaction."""

from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from orchestrator.core import _compiled
from orchestrator.core.database import begin_write, insert_rows
from orchestrator.core.projection import existing
from orchestrator.extensions import db
from orchestrator.models import Event, HumanTask, Instance

TASKS = HumanTask.__table__


def _task(instance_id: int, version_id: int, task_id: str, **values) -> dict:
    return {"id": task_id, "instance_id": instance_id, "version_id": version_id, "client_id": "asiakas-123",
            "pathway_key": "esitieto", "spec": "s", "title": "T", "summary": None, "priority": 50,
            "role": "Hoitaja", "audience": "professional", "queue": "Hoitaja",
            "candidate_groups": ["hoitajat", "lääkärit"], "assignee": None, "form": None, "instructions": None,
            "state": "open", "created_at": datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC),
            "due_at": None, **values}


@pytest.fixture
def instance(api, sample, ctx):
    """The sample pathway's instance, in the test's application context, where its statements run."""
    started = api.start()
    return db.session.get(Instance, started["id"])


def test_values_round_trip_through_json_and_aware_datetimes(instance):
    begin_write()
    due = datetime(2026, 3, 4, 12, 0, tzinfo=UTC) + timedelta(microseconds=7)
    insert_rows(HumanTask, [_task(instance.id, instance.version_id, "t-1", due_at=due)])
    row = _compiled.first(select(TASKS).where(TASKS.c.id == bindparam("id")), {"id": "t-1"})
    db.session.commit()
    assert row["candidate_groups"] == ["hoitajat", "lääkärit"]
    assert row.due_at == due and row.due_at.tzinfo is not None
    assert row.created_at == datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
    # What the ORM reads back is the same.
    assert db.session.get(HumanTask, "t-1").due_at == due


def test_literal_values_in_a_statement_are_bound(instance):
    begin_write()
    insert_rows(HumanTask, [_task(instance.id, instance.version_id, "t-2", state="completed")])
    open_ids, _ = existing(instance.id)
    db.session.commit()
    assert "t-2" not in open_ids and open_ids  # the start left one open task; the closed one is not it


ASSIGN = update(TASKS).where(TASKS.c.instance_id == bindparam("instance")).values(assignee=bindparam("who"))


class Unexpected(Exception):
    pass


def test_statements_take_part_in_the_session_transaction(instance):
    begin_write()
    _compiled.execute(ASSIGN, {"instance": instance.id, "who": "hoitaja1"}, expect=1, otherwise=Unexpected)
    assert db.session.scalars(select(HumanTask.assignee)).all() == ["hoitaja1"]  # the session sees it
    db.session.rollback()
    assert {t.assignee for t in db.session.query(HumanTask)} == {None}


@pytest.mark.parametrize("pipelined", [False, True])
def test_a_row_count_other_than_expected_raises_before_commit(instance, pipelined):
    begin_write()
    with pytest.raises(Unexpected), _compiled.pipelined() if pipelined else nullcontext():
        _compiled.execute(ASSIGN, {"instance": -1, "who": "hoitaja1"}, expect=1, otherwise=Unexpected)
    db.session.rollback()


@pytest.mark.parametrize("pipelined", [False, True])
def test_driver_errors_come_out_as_sqlalchemy_errors(instance, pipelined):
    begin_write()
    row = _task(instance.id, instance.version_id, "t-dup")
    with pytest.raises(IntegrityError, match="t-dup"), _compiled.pipelined() if pipelined else nullcontext():
        insert_rows(HumanTask, [row])
        insert_rows(HumanTask, [row])
    db.session.rollback()
    assert db.session.get(HumanTask, "t-dup") is None


def test_writes_in_a_pipeline_are_read_back_inside_it_and_committed(instance):
    begin_write()
    instance_id, rows = instance.id, [_task(instance.id, instance.version_id, f"t-p{i}") for i in range(3)]
    with _compiled.pipelined():
        insert_rows(HumanTask, rows)
        _compiled.execute(ASSIGN, {"instance": instance_id, "who": "hoitaja2"}, expect=4, otherwise=Unexpected)
        open_ids, _ = existing(instance_id)  # a read waits for the writes before it
    db.session.commit()
    assert {"t-p0", "t-p1", "t-p2"} <= open_ids and len(open_ids) == 4
    assert set(db.session.scalars(select(HumanTask.assignee))) == {"hoitaja2"}


def test_a_statement_that_needs_column_defaults_is_refused(instance):
    begin_write()
    with pytest.raises(ValueError, match="defaults are not applied"):
        insert_rows(Event, [{"instance_id": instance.id, "actor": "a", "kind": "k"}])  # no "at"
    db.session.rollback()


def test_the_orm_cannot_run_inside_a_pipeline(instance):
    """Its results are not there yet in pipeline mode: refused by name rather than failing obscurely."""
    begin_write()
    with _compiled.pipelined():
        if db.engine.dialect.name == "postgresql":
            with pytest.raises(RuntimeError, match="pipelined"):
                db.session.execute(select(HumanTask.id)).all()
        else:
            assert db.session.execute(select(HumanTask.id)).all()  # SQLite has no pipeline: nothing to refuse
    db.session.rollback()
