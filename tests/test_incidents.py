"""Incidents: a step that fails is listed with its element, error and time; an operator retries it (after
moving the instance to a fixed version), skips it with a reason, suspends, resumes or ends the instance —
each an event in its history, with who did it."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from orchestrator.clock import CLOCK
from orchestrator.core import firing
from orchestrator.extensions import db
from orchestrator.models import Event, Instance, Timer

from .fixtures.builders import script_bpmn
from .helpers import upload

DESIGNER = {"X-Polku-Actor": "suunnittelija.laine"}
ADMIN = {"X-Polku-Actor": "yllapitaja.makinen"}
AT = datetime(2027, 2, 3, 10, 15, tzinfo=UTC)
pytestmark = pytest.mark.clock(AT)


def pathway(script: str) -> bytes:
    return script_bpmn(script)


BROKEN, FIXED = "tulos = 10 / jakaja", "tulos = 10 / jakaja if jakaja else 0"
REMINDER = ('<bpmn:intermediateCatchEvent id="odota"><bpmn:timerEventDefinition><bpmn:timeDuration>"P1D"'
            '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>')


def deployed(api, script: str) -> None:
    response = upload(api, {"laskenta.bpmn": pathway(script)}, key="laskenta")
    assert response.status_code == 201, response.json


def incidents(api, **query) -> dict:
    response = api.client.get("/api/v1/incidents", query_string=query, headers=DESIGNER)
    assert response.status_code == 200, response.json
    return response.json


def history(instance_id: int) -> list[tuple[str, str, dict]]:
    db.session.rollback()
    return [(e.kind, e.actor, e.data or {}) for e in db.session.scalars(
        select(Event).where(Event.instance_id == instance_id).order_by(Event.id))]


def test_a_failed_step_is_listed_retried_after_a_fix_by_migration_and_runs_to_its_end(api, ctx, clock):
    deployed(api, BROKEN)
    instance = api.start("laskenta", variables={"jakaja": 0})
    assert instance["status"] == "incident"

    listed = incidents(api)
    assert listed["total"] == 1
    [incident] = listed["incidents"]
    assert (incident["instance_id"], incident["pathway"], incident["version"], incident["element"]) == \
        (instance["id"], "laskenta", 1, "laske")
    assert "ZeroDivisionError" in incident["message"] and incident["message"].strip() == incident["message"]
    assert datetime.fromisoformat(incident["at"]) == AT
    assert "client_id" not in str(listed)

    CLOCK.advance(timedelta(minutes=5))
    again = api.client.post(f"/api/v1/instances/{instance['id']}/retry", headers=DESIGNER)
    assert (again.status_code, again.json["status"]) == (200, "incident"), "the same script fails the same way"
    assert datetime.fromisoformat(incidents(api)["incidents"][0]["at"]) == AT + timedelta(minutes=5)

    deployed(api, FIXED)
    moved = api.client.post("/api/v1/migrations", json={"pathway": "laskenta", "from_version": 1, "to_version": 2,
                                                        "dry_run": False}, headers=ADMIN)
    [outcome] = moved.json["outcomes"]
    assert outcome["moved"] and outcome["standing"] == ["laske"] and outcome["changed"] == ["laske"], outcome
    assert incidents(api)["incidents"][0]["version"] == 2, "moving keeps the incident: the operator retries"

    fixed = api.client.post(f"/api/v1/instances/{instance['id']}/retry", headers=ADMIN)
    assert (fixed.status_code, fixed.json["status"], fixed.json["incident"]) == (200, "running", None)
    assert incidents(api)["total"] == 0
    [task] = api.get(f"/api/v1/instances/{instance['id']}").json["tasks"]
    assert task["spec"] == "tarkista"
    assert api.complete(task["id"], {}).json["status"] == "completed"

    kinds = [(kind, actor) for kind, actor, _ in history(instance["id"])]
    assert kinds == [("started", "tester"), ("incident_retry", "suunnittelija.laine"),
                     ("migrated", "yllapitaja.makinen"), ("incident_retry", "yllapitaja.makinen"),
                     ("task_completed", "tester")]
    retried = history(instance["id"])[1][2]
    assert retried["handled"]["element"] == "laske" and "ZeroDivisionError" in retried["incident"]["message"]


def test_a_skipped_step_needs_a_reason_which_the_history_keeps(api, ctx):
    deployed(api, BROKEN)
    instance = api.start("laskenta", variables={"jakaja": 0})
    url = f"/api/v1/instances/{instance['id']}/skip"
    assert api.client.post(url, json={"reason": " "}, headers=DESIGNER).status_code == 422
    skipped = api.client.post(url, json={"reason": "Tulos lasketaan käsin."}, headers=DESIGNER)
    assert (skipped.status_code, skipped.json["status"]) == (200, "running")
    kind, actor, data = history(instance["id"])[-1]
    assert (kind, actor, data["reason"], data["handled"]["element"]) == \
        ("incident_skip", "suunnittelija.laine", "Tulos lasketaan käsin.", "laske")
    assert [t["spec"] for t in api.get(f"/api/v1/instances/{instance['id']}").json["tasks"]] == ["tarkista"]
    refused = api.client.post(url, json={"reason": "uudestaan"}, headers=DESIGNER)
    assert refused.status_code == 409 and "no incident" in refused.json["message"]


def test_a_suspended_instance_takes_no_step_and_fires_no_timer_until_resumed(api, ctx, clock):
    bpmn = pathway("tulos = 1").replace(b'<bpmn:sequenceFlow id="f3" sourceRef="tarkista" targetRef="loppu"/>',
                                        b'<bpmn:sequenceFlow id="f3" sourceRef="tarkista" targetRef="odota"/>'
                                        b'<bpmn:sequenceFlow id="f4" sourceRef="odota" targetRef="loppu"/>')
    bpmn = bpmn.replace(b'<bpmn:endEvent id="loppu"/>', REMINDER.encode() + b'<bpmn:endEvent id="loppu"/>')
    assert upload(api, {"laskenta.bpmn": bpmn}, key="laskenta").status_code == 201
    instance = api.start("laskenta")
    [task] = instance["tasks"]
    suspended = api.client.post(f"/api/v1/instances/{instance['id']}/suspend", json={"reason": "Tarkistetaan"},
                                headers=ADMIN)
    assert (suspended.status_code, suspended.json["status"]) == (200, "suspended")
    refused = api.complete(task["id"], {})
    assert refused.status_code == 409 and "suspended" in refused.json["message"]
    assert api.client.post(f"/api/v1/instances/{instance['id']}/suspend", json={}, headers=ADMIN).status_code == 409

    resumed = api.client.post(f"/api/v1/instances/{instance['id']}/resume", headers=ADMIN)
    assert resumed.json["status"] == "running"
    assert api.complete(task["id"], {}).status_code == 200
    api.client.post(f"/api/v1/instances/{instance['id']}/suspend", json={}, headers=ADMIN)
    CLOCK.advance(timedelta(days=2))
    assert firing.fire_due() == 0 and db.session.scalar(select(Timer.spec)) == "odota", "held: it waits"
    api.client.post(f"/api/v1/instances/{instance['id']}/resume", headers=ADMIN)
    assert firing.fire_due() == 1, "due meanwhile: it fires once resumed"
    db.session.rollback()
    assert db.session.get(Instance, instance["id"]).status == "completed"
    kinds = [(kind, actor) for kind, actor, _ in history(instance["id"])]
    assert ("suspended", "yllapitaja.makinen") in kinds and ("resumed", "yllapitaja.makinen") in kinds
    assert history(instance["id"])[1][2]["reason"] == "Tarkistetaan"


def test_only_operators_see_and_handle_incidents(api, ctx):
    deployed(api, BROKEN)
    instance = api.start("laskenta", variables={"jakaja": 0})
    for person in ("hoitaja.virtanen", "asiakas-123"):
        headers = {"X-Polku-Actor": person}
        assert api.client.get("/api/v1/incidents", headers=headers).status_code == 403
        assert api.client.post(f"/api/v1/instances/{instance['id']}/retry", headers=headers).status_code == 403
    assert api.client.post("/api/v1/instances/999/retry", headers=DESIGNER).status_code == 404


def test_an_operator_ends_an_instance_on_its_incident(api, ctx):
    deployed(api, BROKEN)
    instance = api.start("laskenta", variables={"jakaja": 0})
    ended = api.client.post(f"/api/v1/instances/{instance['id']}/terminate", json={"reason": "Aloitetaan alusta"},
                            headers=ADMIN)
    assert (ended.status_code, ended.json["status"]) == (200, "cancelled")
    assert incidents(api)["total"] == 0
    assert history(instance["id"])[-1][:2] == ("cancelled", "yllapitaja.makinen")
