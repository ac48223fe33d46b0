"""Two kinds of pathway: self-care (the client starts and ends it; no professional ever sees it) and
professional (opened for a client by a team that follows it). The package declares which."""

import pytest
from sqlalchemy import select

from orchestrator.engine import PackageInvalid
from orchestrator.extensions import db
from orchestrator.models import HumanTask, Instance

from .conftest import Api, Web
from .helpers import deploy_kind, text


def test_the_package_declares_its_kind_and_a_wrong_one_is_named(ctx):
    assert deploy_kind("self-care").kind == "self-care"
    with pytest.raises(PackageInvalid) as refused:
        deploy_kind("itsehoito", key="vaara")
    (problem,) = refused.value.problems
    assert "pathwayKind must be 'professional' or 'self-care', not 'itsehoito'" in problem.reason
    assert problem.file == "vaara/vaara.bpmn" and problem.element == "omahoito"


def test_a_client_starts_a_self_care_pathway_from_the_catalogue_and_ends_it(web_as, ctx):
    deploy_kind("self-care")
    aino = web_as("asiakas-123")
    assert "Oma esitietopolku" in text(aino.get("/me/catalogue"))
    started = aino.post("/me/catalogue", {"pathway": "omahoito"})
    assert started.status_code == 302
    instance = db.session.scalar(select(Instance).where(Instance.client_id == "asiakas-123"))
    assert instance.started_by == "asiakas-123"
    assert aino.post("/me/catalogue", {"pathway": "esitieto"}).status_code == 422, "not a self-care pathway"
    ended = aino.post(f"/me/pathways/{instance.id}/end")
    assert ended.status_code == 302
    db.session.expire_all()
    assert db.session.get(Instance, instance.id).status == "cancelled"
    history = text(aino.get("/me"))
    assert "Oma esitietopolku" in history.split("Historia")[-1], "ended, it stays readable in the history"
    assert aino.get(f"/me/pathways/{instance.id}").status_code == 200


def test_no_professional_sees_a_self_care_instance_by_any_route(app, client, sample, ctx):
    deploy_kind("self-care")
    aino = Api(client, "asiakas-123")
    started = aino.start("omahoito")
    aino.complete(started["tasks"][0]["id"], {"oireet": "Itsehoitoa", "kesto_paivia": 1, "kipu": 2})
    nurse_task = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == started["id"],
                                                              HumanTask.state == "open"))
    db.session.rollback()
    assert nurse_task, "its nurse lane still made a task, which nobody but a system sees"
    hanna = Api(client, "hoitaja.virtanen")
    for url in (f"/api/v1/instances/{started['id']}", f"/api/v1/tasks/{nurse_task}"):
        assert hanna.get(url).status_code == 404, url
    assert all(i["id"] != started["id"] for i in hanna.get("/api/v1/instances").json)
    assert all(t["id"] != nurse_task for t in hanna.get("/api/v1/tasks").json)
    web = Web(app.test_client()).sign_in("hoitaja.virtanen")
    assert "Itsehoitoa" not in text(web.get("/work"))
    assert web.get(f"/work/tasks/{nurse_task}").status_code == 404
    assert web.get(f"/work/pathways/{started['id']}").status_code == 404
    assert web.get("/work/clients/asiakas-123").status_code == 404
    assert hanna.post("/api/v1/instances", {"pathway": "omahoito", "client_id": "asiakas-123"}).status_code == 403


def test_a_client_cannot_start_or_end_a_professional_pathway(app, client, sample, web_as):
    assert Api(client, "asiakas-123").post("/api/v1/instances", {"pathway": "esitieto"}).status_code == 403
    nurse = Api(client, "hoitaja.virtanen")
    started = nurse.start("esitieto", client_id="asiakas-123")
    assert web_as("asiakas-123").post(f"/me/pathways/{started['id']}/end").status_code == 403
