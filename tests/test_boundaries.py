"""Trust at the boundaries: notifications follow the guard, input that cannot be stored is refused with a
reason, exports cannot carry formulas or a second file name, and a service token is never empty."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from config import TestConfig
from orchestrator import create_app
from orchestrator.clock import CLOCK
from orchestrator.core import firing
from orchestrator.core.database import write
from orchestrator.extensions import db
from orchestrator.models import CareTeam, Instance, Notification, StaffSurvey

from .conftest import ANSWERS, Api
from .fixtures.timer_shapes import _lanes, _process, _reminder, _timer
from .helpers import deploy_bpmn, deploy_kind, upload


def reminded_by_a_team_lane(kind: str, pid: str = "muistuttaja") -> str:
    """A client task whose reminder timer sits in a lane named like a care team."""
    props = f'<spiffworkflow:property name="pathwayKind" value="{kind}"/>'
    return _process(pid, f"""
  <bpmn:startEvent id="alku"/>
  <bpmn:userTask id="mittaus" name="Mittaa"/>
  <bpmn:boundaryEvent id="muistutus" attachedToRef="mittaus" cancelActivity="false">
    {_timer("timeCycle", "R2/P1D", _reminder("Asiakkaan vastaus: {{ vastaus }}"))}
  </bpmn:boundaryEvent>
  <bpmn:endEvent id="muistutettu"/>
  <bpmn:endEvent id="loppu"/>
  <bpmn:sequenceFlow id="f1" sourceRef="alku" targetRef="mittaus"/>
  <bpmn:sequenceFlow id="f2" sourceRef="muistutus" targetRef="muistutettu"/>
  <bpmn:sequenceFlow id="f3" sourceRef="mittaus" targetRef="loppu"/>""", _lanes(
        {"Asiakas": ["alku", "mittaus", "loppu"], "Hoitaja": ["muistutus", "muistutettu"]}), props=props)


# --------------------------------------------------------------------------- notifications


def test_a_self_care_pathway_that_reminds_a_care_team_is_refused_at_deploy(api, ctx):
    refused = upload(api, {"omahoito.bpmn": reminded_by_a_team_lane("self-care").encode()}, key="omahoito")
    assert refused.status_code == 422
    [problem] = refused.json["errors"]
    assert problem["element"] == "muistutus" and "Hoitaja" in problem["reason"] and "client only" in problem["reason"]


def test_a_team_that_does_not_follow_a_pathway_gets_no_reminder_from_its_lane(api, clock, ctx):
    deploy_bpmn("muistutus", reminded_by_a_team_lane("professional"))  # no task of Hoitaja: it follows nothing
    started = api.start("muistutus", client_id="asiakas-7", variables={"vastaus": "yksityistä"})
    CLOCK.set(CLOCK.now() + timedelta(days=1, seconds=1))
    assert firing.fire_due() == 1
    db.session.rollback()
    notices = db.session.scalars(select(Notification).where(Notification.instance_id == started["id"])).all()
    assert notices == [], [(n.audience, n.recipient, n.text) for n in notices]


def test_a_nurse_never_sees_a_notification_about_a_self_care_pathway(app, client, ctx):
    version = deploy_kind("self-care")
    with write():
        instance = Instance(version_id=version.id, client_id="asiakas-123", status="running", lock_version=1,
                            started_by="asiakas-123", head={}, serializer_version="1.5",
                            created_at=version.deployed_at, updated_at=version.deployed_at)
        db.session.add(instance)
        db.session.flush()
        db.session.add(Notification(instance_id=instance.id, kind="reminder", audience="professional",
                                    recipient="Hoitaja", source="muistutus", text="Asiakkaan vastaus: yksityistä",
                                    created_at=version.deployed_at))
    notice = db.session.scalars(select(Notification)).one()
    nurse = Api(client, "hoitaja.virtanen")
    assert nurse.get(f"/api/v1/instances/{instance.id}").status_code == 404
    assert nurse.get("/api/v1/notifications?recipient=Hoitaja").json == []
    assert nurse.post(f"/api/v1/notifications/{notice.id}/read").status_code == 404
    db.session.rollback()
    assert db.session.get(Notification, notice.id).read_at is None


# --------------------------------------------------------------------------- input that cannot be stored


@pytest.mark.parametrize("body", [
    '{"data": {"oireet": "\\ud800", "kesto_paivia": 1, "kipu": 1}}',
    '{"data": {"oireet": "Yskä", "kesto_paivia": 1%s, "kipu": 1}}' % ("0" * 5000),
    '{"data": {"oireet": "Yskä", "kesto_paivia": 1%s, "kipu": 1}}' % ("0" * 4000),
    '{"data": {"oireet": "Yskä", "kesto_paivia": 1%s, "kipu": 1}}' % ("0" * 30),
    '{"data": {"\\udfff": 1}}',
])
def test_answers_that_cannot_be_stored_are_a_400_naming_the_problem(api, sample, body):
    task = api.start(client_id="asiakas-1")["tasks"][0]["id"]
    answered = api.client.post(f"/api/v1/tasks/{task}/complete", data=body, content_type="application/json",
                               headers={"X-Polku-Actor": api.actor})
    assert answered.status_code == 400, answered.data[:300]
    assert answered.json["message"]
    assert api.get(f"/api/v1/tasks/{task}").json["state"] == "open"


@pytest.mark.parametrize("field", ["business_key", "client_id"])
def test_a_lone_surrogate_in_a_start_is_a_400(api, sample, field, ctx):
    started = api.post("/api/v1/instances", {"pathway": "esitieto", field: "asiakas-\ud800"})
    assert started.status_code == 400 and "Unicode" in started.json["message"]
    assert db.session.scalars(select(Instance)).all() == []


def test_a_line_break_in_a_next_address_goes_home_instead(client, web):
    switched = client.get("/lang/sv?next=/me%0d%0aSet-Cookie:%20x=1")
    assert switched.status_code == 302 and switched.headers["Location"] == "/"
    signed_in = web.post("/sign-in/test", {"person": "asiakas-123", "next": "/work\r\nX-Injected: 1"})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/me"
    assert "X-Injected" not in signed_in.headers


# --------------------------------------------------------------------------- exports


def _staff_csv_with_team(web_as, key: str) -> str:
    matti = web_as("yllapitaja.makinen")
    assert matti.post("/admin/teams", {"action": "add-team", "key": key}).status_code == 302
    team = db.session.scalar(select(CareTeam).where(CareTeam.key == key))
    assert matti.post("/admin/surveys", {"team": str(team.id), "days": "14"}).status_code == 302
    assert db.session.scalar(select(StaffSurvey.id)) is not None
    return matti.get("/metrics/staff.csv").get_data(as_text=True)


@pytest.mark.parametrize("key", ["=HYPERLINK(\"http://x.example\")", "+1+1", "-2+3", "@SUM(1)"])
def test_a_csv_cell_that_looks_like_a_formula_is_written_as_text(web_as, ctx, key):
    exported = _staff_csv_with_team(web_as, key)
    line = exported.splitlines()[1]
    assert line.startswith("\"'" + key[:1]) or line.startswith("'" + key[:1]), line


def test_a_download_is_named_from_known_parts_only(app, sample, web_as):
    matti = web_as("yllapitaja.makinen")
    forged = matti.get('/metrics/esitieto.csv?table=x"; filename="report.html')
    assert forged.status_code == 422 and "report.html" not in forged.headers.get("Content-Disposition", "")
    broken = matti.get("/metrics/esitieto.csv?table=metrics%0d%0aX:%201")
    assert broken.status_code == 422
    newline = matti.get("/metrics/esitieto.csv?quarter=2027-Q1%0a")
    assert newline.status_code == 422
    fine = matti.get("/metrics/esitieto.csv?table=content&quarter=2027-Q1")
    assert fine.status_code == 200
    assert fine.headers["Content-Disposition"] == 'attachment; filename="metrics-esitieto-content-2027-Q1.csv"'


# --------------------------------------------------------------------------- service tokens


@pytest.mark.parametrize("tokens, why", [({"": "laboratorio"}, "empty"), ({"lyhyt": "laboratorio"}, "too short"),
                                         ({"x" * 32: " "}, "name")])
def test_an_empty_or_short_service_token_is_refused_at_start_up(tokens, why):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = "sqlite://"
        POLKU_SERVICE_TOKENS = tokens

    with pytest.raises(RuntimeError, match=why):
        create_app(Config)


def test_an_empty_bearer_token_is_nobody(app, sample):
    app.config["POLKU_SERVICE_TOKENS"] = {"": "laboratorio"}  # as if set after start-up
    app.config["POLKU_ENV"] = "production"  # no development caller to fall back to
    answered = app.test_client().get("/api/v1/pathways", headers={"Authorization": "Bearer "})
    assert answered.status_code == 401


def test_a_real_service_token_works(app, sample):
    token = "t" * 32
    app.config["POLKU_SERVICE_TOKENS"] = {token: "laboratorio"}
    started = app.test_client().post("/api/v1/instances", json={"pathway": "esitieto", "client_id": "asiakas-1"},
                                     headers={"Authorization": f"Bearer {token}"})
    assert started.status_code == 201
    task = started.json["tasks"][0]["id"]
    done = app.test_client().post(f"/api/v1/tasks/{task}/complete", json={"data": ANSWERS["esitietolomake"]},
                                  headers={"Authorization": f"Bearer {token}"})
    assert done.status_code == 200
