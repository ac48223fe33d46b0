"""A home blood-pressure reading in Debian's Chromium: the client sees at once what 168/104 means, the nurse's
alert shows 168/104, and both pages pass axe-core's WCAG 2.1 A/AA rules."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from orchestrator.care import enrolment
from orchestrator.clock import CLOCK
from orchestrator.core import firing, queries
from orchestrator.extensions import db
from orchestrator.models import HumanTask, Observation

from .browser import chromium, served, signed_in, submit, wcag_violations
from .helpers import deploy_all

OPENED = datetime(2026, 12, 7, 13, 41, tzinfo=UTC)  # Monday 15:41 in Helsinki
MORNING = datetime(2026, 12, 8, 5, 0, 1, tzinfo=UTC)  # Tuesday just after 07:00: the first reading opens


def open_task(instance_id: int, spec: str) -> HumanTask:
    db.session.rollback()
    return db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.spec == spec,
                                                      HumanTask.state == "open")).one()


@pytest.fixture
def reading(app, api, clock):
    """Aino's blood-pressure pathway, opened at 15:41, its first morning reading open the next day."""
    clock.set(OPENED)
    with app.app_context():
        deploy_all()
        pressure = enrolment.join(queries.pathway_or_404("verenpaine").latest, "asiakas-123", "asiakas-123", "given")
        assert api.complete(open_task(pressure.id, "mittausohje").id, {}).status_code == 200
        CLOCK.set(MORNING)
        assert firing.fire_due() == 1
        return open_task(pressure.id, "verenpainemittaus").id, pressure.id


def test_the_client_sees_what_168_104_means_and_the_nurse_sees_168_104(app, reading):
    task_id, instance_id = reading
    with served(app) as base, chromium() as browser:
        client = signed_in(browser, base, "asiakas-123")
        client.goto(f"{base}/me/tasks/{task_id}")
        expect(client.get_by_role("heading", level=1)).to_have_text("Mittaa verenpaine")
        for name, value in (("systolinen_1", "170"), ("diastolinen_1", "105"), ("systolinen_2", "166"),
                            ("diastolinen_2", "103")):
            client.locator(f"input[name={name}]").fill(value)
        submit(client, "button[name=action][value=send]")
        told = client.locator("section.told")
        expect(told).to_be_visible()
        expect(told.get_by_role("heading")).to_have_text("Mitä tuloksesi tarkoittaa")
        expect(told).to_contain_text("kahden mittauksen keskiarvo 168/104 mmHg")
        expect(told).to_contain_text("Verenpaineesi on selvästi koholla")
        assert wcag_violations(client) == []

        with app.app_context():
            alert = open_task(instance_id, "kohonneet_arvot")
        nurse = signed_in(browser, base, "hoitaja.virtanen")
        nurse.goto(f"{base}/work/tasks/{alert.id}")
        expect(nurse.get_by_role("heading", level=1)).to_have_text("Kohonnut kotimittausarvo")
        expect(nurse.locator(".instructions")).to_contain_text("Kohonnut kotimittausarvo: 168/104 mmHg")
        expect(nurse.locator(".instructions")).to_contain_text("Luokitus: selvästi koholla")
        assert wcag_violations(nurse) == []


def test_a_reading_that_is_fine_is_told_as_fine_and_reaches_no_nurse(app, api, reading):
    task_id, instance_id = reading
    response = api.complete(task_id, {"systolinen_1": 128, "diastolinen_1": 82, "systolinen_2": 126,
                                      "diastolinen_2": 80})
    assert response.status_code == 200
    with app.app_context():
        db.session.rollback()
        alerts = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                            HumanTask.spec == "kohonneet_arvot")).all()
        assert alerts == []
        with served(app) as base, chromium() as browser:
            client = signed_in(browser, base, "asiakas-123")
            client.goto(f"{base}/me/tasks/{task_id}")
            expect(client.locator("section.told")).to_contain_text("Verenpaineesi on tavoitteessa (alle 135/85)")
    assert timedelta(days=1) > MORNING - OPENED


def test_the_api_tells_what_a_reading_means_in_the_completion_and_again_on_a_retry(app, api, reading):
    task_id, instance_id = reading
    answers = {"systolinen_1": 186, "diastolinen_1": 112, "systolinen_2": 182, "diastolinen_2": 110}
    first = api.complete(task_id, answers, headers={"Idempotency-Key": "lukema-1"})
    assert first.status_code == 200
    (told,) = first.json["told"]
    assert "kahden mittauksen keskiarvo 184/111 mmHg" in told and "Päivystysapuun 116 117" in told
    again = api.complete(task_id, answers, headers={"Idempotency-Key": "lukema-1"})
    assert again.status_code == 200 and again.json["told"] == [told]


def test_a_reading_entered_freely_is_judged_like_one_asked_for(app, api, web_as, reading):
    """168/104 typed on the pathway page: the client is told what it means, the nurse gets a task with the
    values, the readings are kept, and the series of fourteen goes on as it was."""
    task_id, instance_id = reading
    aino = web_as("asiakas-123")
    saved = aino.post(f"/me/pathways/{instance_id}/measurements", {"systolic": "168", "diastolic": "104"})
    assert saved.status_code == 302 and "measured=1" in saved.headers["Location"]
    page = aino.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Mitä tuloksesi tarkoittaa" in page
    assert "Kirjaamasi mittaus 168/104 mmHg. Verenpaineesi on selvästi koholla" in page
    with app.app_context():
        alert = open_task(instance_id, "kohonneet_arvot")
        assert "Kohonnut kotimittausarvo: 168/104 mmHg" in alert.instructions
        assert "Asiakkaan itse kirjaama mittaus" in alert.instructions
        kept = db.session.scalars(select(Observation.value).where(Observation.instance_id == instance_id)
                                  .order_by(Observation.kind)).all()
        assert kept == [104, 168]  # diastolic, systolic
    # A fine reading typed in: told so, and nobody else hears of it.
    fine = aino.post(f"/me/pathways/{instance_id}/measurements", {"systolic": "124", "diastolic": "78"})
    assert "Verenpaineesi on tavoitteessa" in aino.get(fine.headers["Location"]).get_data(as_text=True)
    # The asked-for reading still counts as the first of fourteen.
    done = api.complete(task_id, {"systolinen_1": 128, "diastolinen_1": 82, "systolinen_2": 126,
                                  "diastolinen_2": 80})
    assert done.json["told"][0].startswith("Aamumittaus 1/14: kahden mittauksen keskiarvo 127/81 mmHg.")
    with app.app_context():
        db.session.rollback()
        alerts = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                            HumanTask.spec == "kohonneet_arvot")).all()
        assert len(alerts) == 1
