"""The one write path, the one refusal and the fenced fast path."""

import pytest
from sqlalchemy import select, update

from orchestrator.core import steps
from orchestrator.core.database import write
from orchestrator.core.refusal import Refused
from orchestrator.core.store import store
from orchestrator.extensions import db
from orchestrator.models import HumanTask, Instance, Offer

from .conftest import ANSWERS


def _start(api) -> tuple[int, str]:
    started = api.start("esitieto", client_id="asiakas-123")
    return started["id"], started["tasks"][0]["id"]


def test_a_write_commits_and_a_refusal_inside_it_rolls_everything_back(app, sample, ctx):
    with write():
        db.session.add(Offer(client_id="asiakas-1", version_id=sample.version.id, variables={}, offered_by="x",
                             offered_at=sample.version.deployed_at, state="pending"))
    with pytest.raises(Refused), write():
        db.session.add(Offer(client_id="asiakas-2", version_id=sample.version.id, variables={}, offered_by="x",
                             offered_at=sample.version.deployed_at, state="pending"))
        raise Refused(409, "no")
    db.session.rollback()
    assert db.session.scalars(select(Offer.client_id)).all() == ["asiakas-1"]


def test_a_change_made_before_the_write_began_is_refused_not_lost(app, sample, ctx):
    with write():
        db.session.add(Offer(client_id="asiakas-1", version_id=sample.version.id, variables={}, offered_by="x",
                             offered_at=sample.version.deployed_at, state="pending"))
    offer = db.session.scalars(select(Offer)).one()
    offer.state = "declined"
    with pytest.raises(RuntimeError, match="before write"), write():
        pass
    db.session.rollback()
    db.session.add(Offer(client_id="asiakas-2", version_id=sample.version.id, variables={}, offered_by="x",
                         offered_at=sample.version.deployed_at, state="pending"))
    db.session.flush()  # written to the transaction, not committed: a write would roll it back
    with pytest.raises(RuntimeError, match="before write"), write():
        pass
    db.session.rollback()


def test_no_loaded_object_outlives_a_step_that_wrote_its_row_past_the_orm(app, sample, api, ctx):
    instance_id, task_id = _start(api)
    db.session.rollback()
    instance, task = db.session.get(Instance, instance_id), db.session.get(HumanTask, task_id)
    before = instance.lock_version
    assert task.state == "open"
    steps.complete(task_id, ANSWERS["esitietolomake"], "asiakas-123")
    # The step wrote the instance, the task and the next task's rows straight to the database; the objects
    # this session had loaded read them again, with no expire by hand.
    assert instance.lock_version > before and task.state == "completed"
    steps.cancel(instance_id, "hoitaja.virtanen", "test")
    assert instance.status == "cancelled"


def test_state_in_another_format_is_refused_with_a_reason_not_misread(app, sample, api, ctx):
    instance_id, task_id = _start(api)
    with write():
        db.session.execute(update(Instance).where(Instance.id == instance_id).values(serializer_version="0.9"))
    store().workflows.pop(instance_id)  # as after a restart: the state is read from the rows
    db.session.remove()
    answer = api.complete(task_id, ANSWERS["esitietolomake"])
    assert answer.status_code == 409
    assert "state format 0.9" in answer.json["message"] and "1.5" in answer.json["message"]
    assert db.session.get(HumanTask, task_id).state == "open"


@pytest.mark.parametrize("lang, reason, back", [("fi", "Tämä tehtävä on jo käsitelty.", "Takaisin sivulle"),
                                                ("sv", "Den här uppgiften har redan hanterats.", "Tillbaka till sidan"),
                                                ("en", "This task was already handled.", "Back to the page")])
def test_a_page_shows_a_refusal_in_the_readers_language_with_a_way_back(app, sample, api, web_as, lang, reason,
                                                                          back):
    _, task_id = _start(api)
    assert api.complete(task_id, ANSWERS["esitietolomake"]).status_code == 200
    nurse_task = api.get("/api/v1/tasks?role=Hoitaja").json[0]["id"]
    assert api.complete(nurse_task, ANSWERS["hoitajan_arvio"]).status_code == 200
    hanna = web_as("hoitaja.virtanen")
    hanna.get(f"/lang/{lang}")
    inbox = "http://localhost/work?mine=1"
    page = hanna.post(f"/work/tasks/{nurse_task}/claim", {}, headers={"Referer": inbox})
    body = page.get_data(as_text=True)
    assert page.status_code == 409 and reason in body
    assert f'<a href="/work?mine=1">{back}</a>' in body  # back to the page the post was sent from
    refused = api.post(f"/api/v1/tasks/{nurse_task}/claim", {})
    assert refused.status_code == 409 and refused.json["message"] == f"task {nurse_task} is completed"
