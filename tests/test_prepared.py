"""Statements run on the driver's cursor convert values exactly as SQLAlchemy does, in the same transaction."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, select, update

from orchestrator import prepared
from orchestrator.database import begin_write, insert_rows
from orchestrator.extensions import db
from orchestrator.models import Event, HumanTask, Instance
from orchestrator.projection import existing

TASKS = HumanTask.__table__


def _task(instance_id: int, version_id: int, task_id: str, **values) -> dict:
    return {"id": task_id, "instance_id": instance_id, "version_id": version_id, "pathway_key": "esitieto",
            "spec": "s", "title": "T", "role": "Hoitaja", "audience": "professional",
            "candidate_groups": ["hoitajat", "lääkärit"], "assignee": None, "form": None, "instructions": None,
            "state": "open", "created_at": datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC),
            "due_at": None, **values}


@pytest.fixture
def instance(api, sample):
    started = api.start()
    return db.session.get(Instance, started["id"])


def test_values_round_trip_through_json_and_aware_datetimes(instance):
    begin_write()
    due = datetime(2026, 3, 4, 12, 0, tzinfo=UTC) + timedelta(microseconds=7)
    insert_rows(HumanTask, [_task(instance.id, instance.version_id, "t-1", due_at=due)])
    row = prepared.first(select(TASKS).where(TASKS.c.id == bindparam("id")), {"id": "t-1"})
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


def test_statements_take_part_in_the_session_transaction(instance):
    begin_write()
    touched = prepared.execute(update(TASKS).where(TASKS.c.instance_id == bindparam("instance"))
                               .values(assignee=bindparam("who")), {"instance": instance.id, "who": "hoitaja1"})
    assert touched == 1
    db.session.rollback()
    assert {t.assignee for t in db.session.query(HumanTask)} == {None}


def test_a_statement_that_needs_column_defaults_is_refused(instance):
    begin_write()
    with pytest.raises(ValueError, match="defaults are not applied"):
        insert_rows(Event, [{"instance_id": instance.id, "actor": "a", "kind": "k"}])  # no "at"
    db.session.rollback()
