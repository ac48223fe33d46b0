"""The pages as people use them: sign-in, a client's form, the team inbox, the designer's upload."""

import io
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from orchestrator.extensions import db
from orchestrator.models import AccessLog, HumanTask, UserSession

from .conftest import ANSWERS, ROOT, dispose, make_app
from .helpers import deploy_bpmn, text


def start_for(api, client_id="asiakas-123") -> dict:
    return api.start("esitieto", business_key=f"{client_id}:esitieto", client_id=client_id)


def nurse_task(instance_id: int) -> HumanTask:
    db.session.rollback()
    return db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                     HumanTask.audience == "professional",
                                                     HumanTask.state == "open"))


def test_the_test_sign_in_says_what_it_is_and_needs_a_csrf_token(web):
    page = web.get("/sign-in")
    assert page.status_code == 200
    assert "Testitunnistautuminen" in text(page) or "Test sign-in" in text(page)
    assert web.post("/sign-in/test", {"person": "asiakas-123"}, csrf=False).status_code == 400
    assert web.post("/sign-in/test", {"person": "nobody"}).status_code == 422
    assert web.get("/me").status_code == 302, "nobody signed in yet"


def test_a_client_fills_in_the_form_fixes_an_error_and_sees_the_answer_in_history(api, sample, web_as):
    instance = start_for(api)
    task_id = instance["tasks"][0]["id"]
    aino = web_as("asiakas-123")
    home = text(aino.get("/me"))
    assert "Täytä esitietolomake" in home and instance["tasks"][0]["title"] in home

    page = aino.get(f"/me/tasks/{task_id}")
    assert page.status_code == 200
    wrong = aino.post(f"/me/tasks/{task_id}", {"action": "send", "oireet": "Yskä", "kesto_paivia": "3",
                                              "kipu": "12", "key": "k1"})
    assert wrong.status_code == 422
    assert 'aria-invalid="true"' in text(wrong) and 'href="#f-kipu"' in text(wrong)
    assert 'value="Yskä"' in text(wrong) or ">Yskä<" in text(wrong), "what was typed stays"

    sent = aino.post(f"/me/tasks/{task_id}", {"action": "send", "oireet": "Yskä ja kuume", "kesto_paivia": "3",
                                             "kipu": "8", "key": "k2"})
    assert sent.status_code == 302
    done = text(aino.get(sent.headers["Location"]))
    assert "Yskä ja kuume" in done
    again = aino.post(f"/me/tasks/{task_id}", {"action": "send", "oireet": "Toinen", "kesto_paivia": "1",
                                              "kipu": "1", "key": "k2"})
    assert again.status_code == 200 and "Toinen" not in text(again), "a completed task takes no more answers"
    timeline = text(aino.get(f"/me/pathways/{instance['id']}"))
    assert "Täytä esitietolomake" in timeline and "Arvioi esitiedot" in timeline


def test_a_draft_is_kept_and_shown_again(api, sample, web_as):
    task_id = start_for(api)["tasks"][0]["id"]
    aino = web_as("asiakas-123")
    saved = aino.post(f"/me/tasks/{task_id}", {"action": "draft", "oireet": "Luonnos", "kipu": ""})
    assert saved.status_code == 200
    assert "Luonnos" in text(aino.get(f"/me/tasks/{task_id}"))


def test_a_nurse_claims_and_completes_a_task_from_the_inbox(api, sample, web_as, ctx):
    instance = start_for(api)
    api.complete(instance["tasks"][0]["id"], ANSWERS["esitietolomake"])
    task = nurse_task(instance["id"])
    hanna = web_as("hoitaja.virtanen")
    inbox = text(hanna.get("/work"))
    assert task.title in inbox and "Aino Asiakas" in inbox
    claimed = hanna.post(f"/work/tasks/{task.id}/claim", {"next": "/work"})
    assert claimed.status_code == 302
    assert "Vain omat" in text(hanna.get("/work?mine=1")) or task.title in text(hanna.get("/work?mine=1"))
    page = text(hanna.get(f"/work/tasks/{task.id}"))
    assert "Yskä ja kuume" in page, "the client's earlier answers are shown"
    assert "Mitä oireita sinulla on?" in page, "under the form's own questions"
    followed = text(hanna.get(f"/work/pathways/{instance['id']}"))
    assert "Yskä ja kuume" in followed and "Täytä esitietolomake" in followed
    done = hanna.post(f"/work/tasks/{task.id}", {"action": "send", "laboratorio": "false",
                                                "viesti_asiakkaalle": "Tervetuloa vastaanotolle.", "key": "n1"})
    assert done.status_code == 302, text(done)
    db.session.rollback()
    assert db.session.get(HumanTask, task.id).completed_by == "hoitaja.virtanen"


def test_nobody_sees_what_is_not_theirs(api, sample, web_as, ctx):
    instance = start_for(api)
    client_task = instance["tasks"][0]["id"]
    bertil, lauri = web_as("asiakas-456"), web_as("laakari.korhonen")
    assert bertil.get(f"/me/tasks/{client_task}").status_code == 404
    assert bertil.get(f"/me/pathways/{instance['id']}").status_code == 404
    assert "Täytä esitietolomake" not in text(bertil.get("/me"))
    api.complete(client_task, ANSWERS["esitietolomake"])
    task = nurse_task(instance["id"])
    assert lauri.get(f"/work/tasks/{task.id}").status_code == 404
    assert lauri.get("/work/clients/asiakas-123").status_code == 404
    assert task.title not in text(lauri.get("/work"))
    assert bertil.get("/work").status_code == 403
    assert web_as("hoitaja.virtanen").get(f"/me/tasks/{client_task}").status_code == 403


def test_each_page_with_client_data_logs_the_access_once_and_the_client_sees_it(api, sample, web_as, ctx):
    instance = start_for(api)
    aino = web_as("asiakas-123")

    def rows():
        db.session.rollback()
        return db.session.scalar(select(func.count()).select_from(AccessLog))

    before = rows()
    aino.get(f"/me/pathways/{instance['id']}")
    assert rows() == before + 1
    api.complete(instance["tasks"][0]["id"], ANSWERS["esitietolomake"])
    hanna = web_as("hoitaja.virtanen")
    hanna.get(f"/work/tasks/{nurse_task(instance['id']).id}")
    log = text(aino.get("/me/access-log"))
    assert "Hanna Virtanen" in log


def test_the_access_log_cannot_be_changed(api, sample, web_as, ctx):
    web_as("asiakas-123").get("/me")
    row = db.session.scalar(select(AccessLog))
    row.purpose = "rewritten"
    try:
        db.session.commit()
        raise AssertionError("the database let an access-log row change")
    except Exception as exc:  # noqa: BLE001 - either driver's error
        assert "append-only" in str(exc)
        db.session.rollback()


def test_sign_out_ends_the_session_for_good_and_an_idle_one_expires(app, web_as, ctx, clock):
    aino = web_as("asiakas-123")
    cookie = aino.client.get_cookie("polku_session").value
    assert aino.post("/sign-out").status_code == 302
    replay = app.test_client()
    replay.set_cookie("polku_session", cookie)
    assert replay.get("/me").status_code == 302, "the old cookie signs nobody in"
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0

    bertil = web_as("asiakas-456")
    clock.advance(timedelta(minutes=app.config["POLKU_IDLE_MINUTES"] + 1))
    assert bertil.get("/me").status_code == 302


def test_a_designer_uploads_a_broken_pathway_and_sees_the_errors(sample, web_as):
    sari = web_as("suunnittelija.laine")
    bpmn = (ROOT / "bpmn" / "esitieto" / "esitieto.bpmn").read_bytes().replace(b'"P3D"', b"P3D")
    data = {"key": "rikki", "files": (io.BytesIO(bpmn), "rikki.bpmn")}
    page = sari.post("/admin/pathways", data, content_type="multipart/form-data")
    assert page.status_code == 422
    assert "rikki.bpmn" in text(page) and "quote" in text(page).lower()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("esitieto.bpmn", (ROOT / "bpmn" / "esitieto" / "esitieto.bpmn").read_bytes())
        zf.writestr("kiireellisyys.dmn", (ROOT / "bpmn" / "esitieto" / "kiireellisyys.dmn").read_bytes())
        zf.writestr("suostumus.md", (ROOT / "bpmn" / "esitieto" / "suostumus.md").read_bytes())
        zf.writestr("laboratoriotulos.json", (ROOT / "bpmn" / "esitieto" / "laboratoriotulos.json").read_bytes())
    archive.seek(0)
    ok = sari.post("/admin/pathways", {"key": "esitieto2", "files": (archive, "esitieto.zip")},
                   content_type="multipart/form-data")
    assert ok.status_code == 200 and "esitieto2" in text(ok)


def test_the_language_can_be_switched_on_every_page(web_as):
    aino = web_as("asiakas-123")
    assert "Omat polut" in text(aino.get("/me"))
    assert aino.get("/lang/sv?next=/me").headers["Location"] == "/me"
    assert "Mina vårdstigar" in text(aino.get("/me"))
    aino.get("/lang/en?next=https://evil.example/")
    assert "My pathways" in text(aino.get("/me"))


def test_instructions_are_markdown_and_raw_html_in_them_is_shown_as_text():
    from orchestrator.web.filters import markdown

    html = markdown("# Otsikko\n\nLue **tämä**. <script>alert(1)</script> [linkki](javascript:alert(1))")
    assert "<h2>Otsikko</h2>" in html and "<strong>tämä</strong>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html


def test_the_test_sign_in_is_refused_in_production_and_beside_openid_connect(tmp_path):
    from config import TestConfig

    class Production(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'p.db'}"
        POLKU_ENV = "production"
        SECRET_KEY = "a-long-random-value-set-by-the-operator"

    app = make_app(Production)
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    client = app.test_client()
    assert client.get("/sign-in").status_code == 503
    assert client.post("/sign-in/test", data={"person": "asiakas-123"}).status_code in (400, 404)
    refused = client.get("/api/v1/instances", headers={"X-Polku-Actor": "hoitaja.virtanen"})
    assert refused.status_code == 401, "the development actor header means nothing in production"
    dispose(app)


def test_in_development_the_actor_header_names_a_demo_person_who_acts_as_that_person(client, sample):
    from .conftest import Api

    nurse, aino, bertil = Api(client, "hoitaja.virtanen"), Api(client, "asiakas-123"), Api(client, "asiakas-456")
    started = nurse.start("esitieto", client_id="asiakas-123")
    task = started["tasks"][0]["id"]
    assert aino.get(f"/api/v1/tasks/{task}").status_code == 200
    assert bertil.get(f"/api/v1/tasks/{task}").status_code == 404
    assert nurse.get(f"/api/v1/tasks/{task}").status_code == 404, "a client's task is the client's"
    assert bertil.post("/api/v1/instances", {"pathway": "esitieto", "client_id": "asiakas-123"}).status_code == 403
    assert client.get("/api/v1/instances").status_code == 401
    assert aino.complete(task, ANSWERS["esitietolomake"]).status_code == 200


def test_the_inbox_filters_counts_and_hands_tasks_between_colleagues(api, sample, web_as, ctx):
    instance = start_for(api)
    api.complete(instance["tasks"][0]["id"], ANSWERS["esitietolomake"])
    task = nurse_task(instance["id"])
    hanna = web_as("hoitaja.virtanen")
    assert task.title in text(hanna.get("/work?pathway=esitieto&client=asiakas-123"))
    assert task.title not in text(hanna.get("/work?pathway=muu"))
    assert task.title not in text(hanna.get("/work?due=overdue")), "not late yet"
    assert task.title not in text(hanna.get("/work?mine=1"))
    refused = hanna.post(f"/work/tasks/{task.id}/assign", {"assignee": "laakari.korhonen"})
    assert refused.status_code == 422, "only a colleague of the task's team"
    assert hanna.post(f"/work/tasks/{task.id}/assign", {"assignee": "hoitaja.nieminen"}).status_code == 302
    db.session.rollback()
    assert db.session.get(HumanTask, task.id).assignee == "hoitaja.nieminen"
    noora = web_as("hoitaja.nieminen")
    assert task.title in text(noora.get("/work?mine=1"))
    assert "(1)" in text(noora.get("/work")).split("Omat")[1][:10], "the count of her own"
    assert noora.post(f"/work/tasks/{task.id}/release", {"next": "/work"}).headers["Location"] == "/work"
    db.session.rollback()
    assert db.session.get(HumanTask, task.id).assignee is None


def test_an_administrator_adds_a_care_team_and_a_member(web_as, ctx):
    matti = web_as("yllapitaja.makinen")
    assert matti.post("/admin/teams", {"action": "add-team", "key": ""}).status_code == 422
    assert matti.post("/admin/teams", {"action": "add-team", "key": "Fysioterapeutti"}).status_code == 302
    from orchestrator.models import CareTeam, Person

    team = db.session.scalar(select(CareTeam).where(CareTeam.key == "Fysioterapeutti"))
    lauri = db.session.scalar(select(Person).where(Person.subject == "dev:laakari.korhonen"))
    assert matti.post("/admin/teams", {"action": "add-member", "team": team.id, "person": lauri.id}).status_code == 302
    db.session.expire_all()
    assert "Fysioterapeutti" in lauri.team_keys and "Lääkäri" in lauri.team_keys
    assert web_as("suunnittelija.laine").get("/admin/teams").status_code == 403


def test_the_session_cookie_is_http_only_and_same_site(web):
    response = web.post("/sign-in/test", {"person": "asiakas-123"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "polku_session=" in cookie


def test_outside_development_the_default_secret_is_refused():
    from config import TestConfig
    from orchestrator import create_app

    class Careless(TestConfig):
        POLKU_ENV = "production"
        SECRET_KEY = "dev-only-change-me"

    with pytest.raises(RuntimeError, match="POLKU_SECRET_KEY"):
        create_app(Careless)


def test_a_clients_answer_shown_in_instructions_stays_text():
    from orchestrator.core.projection import render
    from orchestrator.web.filters import markdown

    shown = markdown(render("Asiakkaan oireet: {{ oireet }}", {"oireet": "Yskä\n\n## Kiireetön\n[Kirjaudu](https://x.example/)"},
                            markdown=True))
    assert "<h2>" not in shown and "<a " not in shown
    assert "## Kiireetön" in shown and "[Kirjaudu](https://x.example/)" in shown


def test_every_string_of_the_pages_is_translated_into_finnish_and_swedish(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from babel.messages.pofile import read_po

    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run([str(pybabel), "extract", "-F", "babel.cfg", "-k", "_l", "-o", str(pot), "."], cwd=ROOT,
                   check=True, capture_output=True)
    with pot.open("rb") as f:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    assert len(wanted) > 150
    for lang in ("fi", "sv"):
        with (ROOT / "orchestrator" / "translations" / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
            done = {(m.id if isinstance(m.id, str) else m.id[0]) for m in read_po(f)
                    if m.id and all(m.string if isinstance(m.string, tuple) else [m.string]) and not m.fuzzy}
        assert sorted(wanted - done) == [], f"untranslated in {lang} (run make messages, then translate)"


def test_an_administrator_gives_a_work_role_and_the_person_switches_between_roles(web_as, ctx):
    from orchestrator.models import Person

    matti = web_as("yllapitaja.makinen")
    hanna = db.session.scalar(select(Person).where(Person.subject == "dev:hoitaja.virtanen"))
    assert matti.post("/admin/teams", {"action": "grant-role", "person": hanna.id, "role": "client"}).status_code == 302
    assert "Aino Asiakas" not in text(matti.get("/admin/teams")), "clients are not listed"
    bertil = db.session.scalar(select(Person).where(Person.subject == "dev:asiakas-456"))
    assert matti.post("/admin/teams", {"action": "grant-role", "identity_code": bertil.personal_identity_code,
                                       "role": "professional"}).status_code == 302
    db.session.expire_all()
    assert bertil.roles == ["client", "professional"]
    me = db.session.scalar(select(Person).where(Person.subject == "dev:yllapitaja.makinen"))
    refused = matti.post("/admin/teams", {"action": "revoke-role", "person": me.id, "role": "admin"})
    assert refused.status_code == 422
    db.session.expire_all()
    assert hanna.roles == ["professional", "client"]
    nurse = web_as("hoitaja.virtanen")
    assert 'id="role-switch"' in text(nurse.get("/work"))
    switched = nurse.post("/role", {"role": "client"})
    assert switched.headers["Location"] == "/me" and nurse.get("/me").status_code == 200
    assert nurse.get("/work").status_code == 403
    assert nurse.post("/role", {"role": "admin"}).status_code == 422


def test_a_task_for_several_candidate_groups_is_in_each_groups_inbox(app, api, web_as):
    from .fixtures.builders import process_bpmn

    bpmn = process_bpmn().replace('<bpmn:userTask id="tehtava" name="Tehtävä"></bpmn:userTask>',
                                  '<bpmn:userTask id="tehtava" name="Yhteinen tehtävä" '
                                  'camunda:candidateGroups="Hoitaja, Lääkäri"></bpmn:userTask>')
    with app.app_context():
        deploy_bpmn("yhteinen", bpmn)
    api.start("yhteinen", client_id="asiakas-123")
    assert "Yhteinen tehtävä" in text(web_as("hoitaja.virtanen").get("/work"))
    assert "Yhteinen tehtävä" in text(web_as("laakari.korhonen").get("/work")), "the second group's inbox too"
