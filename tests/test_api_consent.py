"""One door for starting a pathway: the API follows the pages' rules of consent and of one pathway at a time."""

import pytest
from sqlalchemy import select

from orchestrator.extensions import db
from orchestrator.models import Consent, Instance, Offer

from .conftest import Api
from .helpers import deploy_all

AINO = "asiakas-123"


@pytest.fixture
def door(app, client):
    """Every pathway of bpmn/ deployed (each asks consent); Aino, her nurse and a system, through the API."""
    with app.app_context():
        deploy_all()
    return Api(client, AINO), Api(client, "hoitaja.virtanen"), Api(client, "laboratorio")


def _instances() -> list[Instance]:
    db.session.rollback()
    return list(db.session.scalars(select(Instance)))


def test_a_nurses_start_of_a_pathway_that_asks_consent_is_an_offer_and_only_one(door, ctx):
    _, nurse, system = door
    first = nurse.post("/api/v1/instances", {"pathway": "painonhallinta", "client_id": AINO})
    assert first.status_code == 202 and first.json["state"] == "pending" and first.json["pathway"] == "painonhallinta"
    again = nurse.post("/api/v1/instances", {"pathway": "painonhallinta", "client_id": AINO})
    assert again.status_code == 409 and "waits for the client's consent" in again.json["message"]
    by_system = system.post("/api/v1/instances", {"pathway": "painonhallinta", "client_id": AINO})
    assert by_system.status_code == 409
    assert _instances() == [] and db.session.scalars(select(Consent)).all() == []


def test_a_clients_own_start_of_a_pathway_that_asks_consent_answers_what_to_consent_to(door, ctx):
    aino, _, _ = door
    for _ in range(2):
        started = aino.post("/api/v1/instances", {"pathway": "diabetesriski"})
        assert started.status_code == 409 and "consent" in started.json["message"]
        [consent] = started.json["errors"]
        assert consent["pathway"] == "diabetesriski" and len(consent["text_hash"]) == 64 and consent["text"]
    assert _instances() == []


def test_a_client_consents_through_the_api_and_withdraws(door, ctx):
    aino, _, _ = door
    shown = aino.get("/api/v1/pathways/diabetesriski/consent").json
    stale = aino.post("/api/v1/pathways/diabetesriski/consent", {"answer": "given", "text_hash": "0" * 64})
    assert stale.status_code == 409 and "changed" in stale.json["message"]
    given = aino.post("/api/v1/pathways/diabetesriski/consent", {"answer": "given", "text_hash": shown["text_hash"]})
    assert given.status_code == 201 and given.json["client_id"] == AINO and given.json["tasks"]
    twice = aino.post("/api/v1/pathways/diabetesriski/consent", {"answer": "given", "text_hash": shown["text_hash"]})
    assert twice.status_code == 409
    assert [(i.id, i.status) for i in _instances()] == [(given.json["id"], "running")]
    withdrawn = aino.post(f"/api/v1/instances/{given.json['id']}/withdraw", {})
    assert withdrawn.status_code == 200 and withdrawn.json["status"] == "cancelled"
    db.session.rollback()
    answers = [(c.answer, c.text_hash) for c in db.session.scalars(select(Consent).order_by(Consent.id))]
    assert answers == [("given", shown["text_hash"]), ("withdrawn", shown["text_hash"])]


def test_a_client_answers_an_offer_through_the_api(door, ctx):
    aino, nurse, _ = door
    offered = nurse.post("/api/v1/instances", {"pathway": "painonhallinta", "client_id": AINO,
                                                "variables": {"liikuntapaivakirja": False}}).json
    assert [o["id"] for o in aino.get("/api/v1/offers").json] == [offered["id"]]
    shown = aino.get(f"/api/v1/offers/{offered['id']}/consent").json
    declined = aino.post(f"/api/v1/offers/{offered['id']}/consent", {"answer": "declined",
                                                                     "text_hash": shown["text_hash"]})
    assert declined.status_code == 200 and declined.json == {"answer": "declined"}
    assert aino.get("/api/v1/offers").json == [] and _instances() == []
    again = nurse.post("/api/v1/instances", {"pathway": "painonhallinta", "client_id": AINO}).json
    given = aino.post(f"/api/v1/offers/{again['id']}/consent", {"answer": "given", "text_hash": shown["text_hash"]})
    assert given.status_code == 201 and given.json["client_id"] == AINO
    db.session.rollback()
    assert db.session.get(Offer, again["id"]).instance_id == given.json["id"]
    assert aino.post(f"/api/v1/offers/{again['id']}/consent",
                     {"answer": "given", "text_hash": shown["text_hash"]}).status_code == 409


def test_only_the_client_answers_their_consent(door):
    aino, nurse, system = door
    offered = nurse.post("/api/v1/instances", {"pathway": "painonhallinta", "client_id": AINO}).json
    for other in (nurse, system):
        assert other.get("/api/v1/offers").status_code == 403
        assert other.post(f"/api/v1/offers/{offered['id']}/consent",
                          {"answer": "given", "text_hash": "0" * 64}).status_code == 403
    assert Api(aino.client, "asiakas-456").get(f"/api/v1/offers/{offered['id']}/consent").status_code == 404


def test_a_pathway_without_consent_starts_at_once_and_once_per_client(api, sample):
    first = api.post("/api/v1/instances", {"pathway": "esitieto", "client_id": AINO})
    assert first.status_code == 201
    assert api.post("/api/v1/instances", {"pathway": "esitieto", "client_id": AINO}).status_code == 409
    assert api.post("/api/v1/instances", {"pathway": "esitieto", "client_id": "asiakas-456"}).status_code == 201
    for _ in range(2):  # an integration's own instance, for no client, is not one of a client's pathways
        assert api.post("/api/v1/instances", {"pathway": "esitieto", "business_key": "lab-1"}).status_code == 201
