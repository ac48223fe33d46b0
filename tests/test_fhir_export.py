"""A client's own data as a FHIR R4 Bundle, checked against the fhir.resources (R4B) models."""

import json

from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from orchestrator.care import enrolment, messaging, observations
from orchestrator.clock import now
from orchestrator.core import queries, steps
from orchestrator.extensions import db
from orchestrator.models import Disclosure, HumanTask, Instance

from .conftest import ANSWERS
from .helpers import deploy_all


def test_a_client_downloads_their_pathways_as_a_valid_fhir_bundle_and_it_is_logged(web_as, ctx):
    deploy_all()
    instance = enrolment.join(queries.pathway_or_404("verenpaine").latest, "asiakas-123", "asiakas-123", "given")
    read = db.session.scalars(select(HumanTask).where(HumanTask.spec == "mittausohje")).one()
    steps.complete(read.id, {}, "asiakas-123")
    db.session.rollback()
    messaging.send(db.session.get(Instance, instance.id), "client", "asiakas-123", "Aino", "Kysymys")
    observations.record(db.session.get(Instance, instance.id), {"systolic": 128, "diastolic": 82}, now(),
                        "asiakas-123", now())
    aino = web_as("asiakas-123")
    response = aino.get("/me/export")
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    data = json.loads(response.get_data(as_text=True))
    bundle = Bundle.model_validate(data)  # raises on anything FHIR R4 does not allow
    kinds = sorted(e.resource.__resource_type__ for e in bundle.entry)
    assert kinds == ["CarePlan", "Communication", "Observation", "Observation"]
    plan = next(e.resource for e in bundle.entry if e.resource.__resource_type__ == "CarePlan")
    assert (plan.status, plan.title, plan.subject.reference) == ("active", "Verenpaineen kotiseuranta",
                                                                 "Patient/asiakas-123")
    codes = {e.resource.code.coding[0].code: e.resource.valueQuantity.value for e in bundle.entry
             if e.resource.__resource_type__ == "Observation"}
    assert codes == {"8480-6": 128.0, "8462-4": 82.0}
    assert "010150-998J" not in response.get_data(as_text=True)  # named by the opaque id only
    logged = db.session.scalars(select(Disclosure)).all()
    assert [(d.what, d.client_id, d.role) for d in logged] == [("fhir-bundle", "asiakas-123", "client")]


def test_answers_become_questionnaire_responses(sample, api, web_as):
    started = api.start("esitieto", client_id="asiakas-123")
    api.complete(started["tasks"][0]["id"], ANSWERS["esitietolomake"])
    data = json.loads(web_as("asiakas-123").get("/me/export").get_data(as_text=True))
    bundle = Bundle.model_validate(data)
    (response,) = [e.resource for e in bundle.entry if e.resource.__resource_type__ == "QuestionnaireResponse"]
    answers = {item.linkId: item.answer[0] for item in response.item}
    assert answers["oireet"].valueString == ANSWERS["esitietolomake"]["oireet"]
    assert answers["kipu"].valueInteger == ANSWERS["esitietolomake"]["kipu"]
    assert response.status == "completed" and response.basedOn[0].reference == f"CarePlan/polku-{started['id']}"
