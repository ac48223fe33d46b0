"""An event subprocess one instance starts is that instance's: SpiffWorkflow's own trigger wires it into the
process definition that every instance of the version shares, and each instance started after it then ran a
subprocess of its own, waiting for ever (so it never ended at its end event)."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from orchestrator.core import steps
from orchestrator.extensions import db
from orchestrator.models import TaskState
from orchestrator.tools import deploy

from .conftest import ROOT

pytestmark = pytest.mark.clock(datetime(2027, 1, 11, 8, tzinfo=UTC))


def specs_of(instance_id: int) -> set[str]:
    db.session.rollback()
    return set(db.session.scalars(select(TaskState.spec).where(TaskState.instance_id == instance_id)))


def test_an_event_subprocess_one_instance_starts_does_not_start_in_the_next(ctx, clock):
    [deployed] = deploy.deploy([deploy.from_dir(ROOT / "bpmn" / "verenpaine", ROOT / "forms")], "tester")
    first = steps.start(deployed.version, "tester", {}, None, "asiakas-1")
    assert "oma_mittaus" not in specs_of(first.id)
    steps.deliver(first.id, "measurement_recorded", {"systolic": 182, "diastolic": 112,
                                                     "measured_at": "2027-01-11T09:30:00+02:00"}, "asiakas-1")
    assert {"oma_mittaus", "kohonnut_arvo"} <= specs_of(first.id), "its own reading started both"
    second = steps.start(deployed.version, "tester", {}, None, "asiakas-2")
    assert not {"oma_mittaus", "kohonnut_arvo"} & specs_of(second.id)
    assert second.waiting_for == ["measurement_recorded"]
