"""The operators' pages: the incidents list with its actions, and moving a version's instances."""

import io

from sqlalchemy import select

from orchestrator.extensions import db
from orchestrator.models import Event, Instance

from .conftest import ROOT
from .fixtures.builders import script_bpmn
from .helpers import upload


def pathway(script: str) -> bytes:
    return script_bpmn(script)


def broken(api, count: int = 1) -> list[int]:
    assert upload(api, {"laskenta.bpmn": pathway("tulos = 10 / jakaja")}, key="laskenta").status_code == 201
    return [api.start("laskenta", variables={"jakaja": 0}, client_id=f"asiakas-{n}")["id"] for n in range(count)]


def in_english(web_as, person: str):
    web = web_as(person)
    web.get("/lang/en?next=/")
    return web


def test_the_incidents_page_lists_each_with_its_element_and_error_and_no_client(api, ctx, web_as):
    [instance] = broken(api)
    page = in_english(web_as, "suunnittelija.laine").get("/admin/incidents")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"/admin/instances/{instance}" in text and "<code>laske</code>" in text and "ZeroDivisionError" in text
    assert "asiakas-0" not in text
    assert "1 instance needs a look." in text


def test_retry_skip_suspend_resume_and_end_from_the_page_are_kept_in_the_history(api, ctx, web_as):
    first, second = broken(api, 2)
    web = in_english(web_as, "yllapitaja.makinen")
    web.get("/admin/incidents")
    suspended = web.post(f"/admin/instances/{first}/suspend")
    assert suspended.status_code == 302 and "done=suspend" in suspended.headers["Location"]
    shown = web.get(suspended.headers["Location"]).get_data(as_text=True)
    assert f"Instance {first} is suspended." in shown and "Resume" in shown
    web.post(f"/admin/instances/{first}/resume")
    refused = web.post(f"/admin/instances/{first}/skip", {"reason": ""})
    assert refused.status_code == 422 and "say why the step is skipped" in refused.get_data(as_text=True)
    assert web.post(f"/admin/instances/{first}/skip", {"reason": "Lasketaan käsin"}).status_code == 302
    assert web.post(f"/admin/instances/{second}/terminate", {"reason": "Virheellinen aloitus"}).status_code == 302
    db.session.rollback()
    assert (db.session.get(Instance, first).status, db.session.get(Instance, second).status) == \
        ("running", "cancelled")
    kinds = [(e.kind, e.actor) for e in db.session.scalars(select(Event).where(Event.instance_id == first)
                                                           .order_by(Event.id))]
    assert kinds[1:] == [("suspended", "yllapitaja.makinen"), ("resumed", "yllapitaja.makinen"),
                         ("incident_skip", "yllapitaja.makinen")]


def test_the_pages_are_for_designers_and_administrators_only(api, ctx, web_as):
    [instance] = broken(api)
    for person in ("hoitaja.virtanen", "asiakas-123"):
        web = web_as(person)
        assert web.get("/admin/incidents").status_code == 403
        assert web.get("/admin/pathways/laskenta/move").status_code == 403
        web.get("/")
        assert web.post(f"/admin/instances/{instance}/retry").status_code == 403


def test_the_move_page_shows_the_changes_the_dry_run_and_moves(api, ctx, web_as):
    [instance] = broken(api)
    fixed = pathway("tulos = 10 / jakaja if jakaja else 0").replace(b'name="Tarkista tulos"',
                                                                    b'name="Tarkista laskettu tulos"')
    assert upload(api, {"laskenta.bpmn": fixed}, key="laskenta").status_code == 201
    web = in_english(web_as, "suunnittelija.laine")
    page = web.get("/admin/pathways/laskenta/move?from=1&to=2").get_data(as_text=True)
    assert "Tarkista laskettu tulos</span> <code>tarkista</code>" in page
    assert "Laske tulos</span> <code>laske</code>" in page
    assert "1 of 1 active instances can move." in page and "Move 1 instance to version 2" in page
    db.session.rollback()
    assert db.session.get(Instance, instance).version.number == 1, "a dry run moves nothing"
    moved = web.post("/admin/pathways/laskenta/move", {"from": "1", "to": "2"}).get_data(as_text=True)
    assert "1 instance moved" in moved
    db.session.rollback()
    assert db.session.get(Instance, instance).version.number == 2
    assert web.get("/admin/pathways/nothing/move").status_code == 404


def test_two_versions_compared_on_their_diagrams(api, ctx, web_as):
    broken(api)
    later = pathway("tulos = 10 / jakaja if jakaja else 0").replace(
        b'<bpmn:sequenceFlow id="f3" sourceRef="tarkista" targetRef="loppu"/>',
        b'<bpmn:userTask id="kuittaa" name="Kuittaa"/>'
        b'<bpmn:sequenceFlow id="f3" sourceRef="tarkista" targetRef="kuittaa"/>'
        b'<bpmn:sequenceFlow id="f4" sourceRef="kuittaa" targetRef="loppu"/>')
    assert upload(api, {"laskenta.bpmn": later}, key="laskenta").status_code == 201
    web = web_as("suunnittelija.laine")
    newer = web.get("/admin/pathways/laskenta/versions/2/diagram.json?against=1").json
    assert newer["markers"]["kuittaa"] == ["added"] and newer["markers"]["laske"] == ["changed"]
    assert [kind for kind, _ in newer["badges"]["kuittaa"]] == ["added"]
    assert "tarkista" not in newer["markers"], "only its outgoing flow moved: not a change of the task"
    older = web.get("/admin/pathways/laskenta/versions/1/diagram.json?against=2").json
    assert older["markers"] == {"laske": ["changed"]}
    page = web.get("/admin/pathways/laskenta/versions/2?against=1").get_data(as_text=True)
    assert "<code>kuittaa</code>" in page and "against=1" in page
    assert web.get("/admin/pathways/laskenta/versions/2/diagram.json?against=7").status_code == 404


def test_the_upload_page_tells_what_the_scenarios_cover(ctx, web_as):
    folder = ROOT / "bpmn" / "esitieto"
    files = [(io.BytesIO(p.read_bytes()), p.name) for p in sorted(folder.iterdir())]
    web = in_english(web_as, "suunnittelija.laine")
    page = web.post("/admin/pathways", {"key": "esitieto", "files": files}, content_type="multipart/form-data")
    text = page.get_data(as_text=True)
    assert page.status_code == 200, text
    assert "Deployed esitieto as version 1." in text
    assert "Its 2 scenarios passed and cover 12 of 12 nodes." in text
    assert 'href="/admin/pathways/esitieto/versions/1"' in text


def test_an_operator_acts_on_an_incident_from_the_instance_page(api, ctx, web_as):
    [instance] = broken(api)
    web = in_english(web_as, "yllapitaja.makinen")
    page = web.get(f"/admin/instances/{instance}").get_data(as_text=True)
    assert f'action="/admin/instances/{instance}/retry"' in page and 'name="back" value="instance"' in page
    suspended = web.post(f"/admin/instances/{instance}/suspend", {"back": "instance"})
    assert suspended.headers["Location"].startswith(f"/admin/instances/{instance}?done=suspend")
    shown = web.get(suspended.headers["Location"]).get_data(as_text=True)
    assert f"Instance {instance} is suspended." in shown and f'/admin/instances/{instance}/resume"' in shown
    assert f'/admin/instances/{instance}/retry"' not in shown, "a held instance is resumed first"
