"""The API routes that do what the pages do (messages, measurements also as FHIR, diaries, declared results, the
client's own data) refuse as the pages refuse: another client's or another team's object is not found, a code, unit
or reading Polku cannot take is refused naming it, an undeclared variable is never shown, every response that shows
a client's data writes one access-log row per client, and a system writes no messages."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from orchestrator.care import enrolment, messaging
from orchestrator.clock import CLOCK
from orchestrator.core import queries
from orchestrator.engine import PackageInvalid
from orchestrator.extensions import db
from orchestrator.models import AccessLog, Instance
from orchestrator.tools import deploy

from .conftest import ANSWERS, Api
from .helpers import deploy_all, package

AINO, BERTIL, HANNA, LAURI = "asiakas-123", "asiakas-456", "hoitaja.virtanen", "laakari.korhonen"
START = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)  # Monday 10:00 in Helsinki
V1 = "/api/v1"
LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"


class Caller(Api):
    def put(self, url, json=None, **kw):
        return self.client.put(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)


def caller(app, actor: str) -> Caller:
    return Caller(app.test_client(), actor)


def joined(pathway: str, client_id: str = AINO, variables: dict | None = None) -> int:
    """The client on the pathway (her consent given), its id."""
    version = queries.pathway_or_404(pathway).latest
    return enrolment.join(version, client_id, client_id, "given", variables).id


def task_of(instance_id: int, spec: str) -> str:
    db.session.rollback()
    return next(t.id for t in queries.instance_human_tasks(instance_id) if t.spec == spec and t.state == "open")


@pytest.fixture
def world(app, clock, ctx):
    """Aino on the blood-pressure and weight pathways (with a food diary entry and a message each way), Bertil on
    the blood-pressure pathway; the clock at START."""
    clock.set(START)
    deploy_all()
    pressure, weight = joined("verenpaine"), joined("painonhallinta", variables={"ruokapaivakirja": True,
                                                                                "liikuntapaivakirja": False})
    bertil = joined("verenpaine", BERTIL)
    aino = caller(app, AINO)
    start = next(t for t in aino.get(f"{V1}/tasks?instance={weight}").json if t["spec"] == "aloituskysely")
    assert aino.complete(start["id"], {"tavoite": "Laihtua", "valmius": 7, "ateriat_paivassa": "3-4",
                                       "kasvikset_paivittain": True, "liikunta_viikossa": "alle-1h", "pituus": 168,
                                       "paino": 92.4, "vyotaro": 104}).status_code == 200
    diary = task_of(weight, "ruokapaivakirja")
    meal = {"ateria": "lounas", "mita_soin": "Puuroa"}
    assert aino.post(f"{V1}/diaries/{diary}/entries", {"data": meal}).status_code == 201
    assert aino.post(f"{V1}/instances/{pressure}/messages", {"body": "Kysymys"}).status_code == 201
    return {"pressure": pressure, "weight": weight, "bertil": bertil, "diary": diary, "meal": meal,
            "reading": task_of(pressure, "mittausohje")}


def routes(world) -> list[tuple[str, str, dict | None]]:
    """Every new route on Aino's objects, with a body that would pass its arguments."""
    p, d = world["pressure"], world["diary"]
    bp = {"systolic": 120, "diastolic": 80}
    return [("GET", f"{V1}/instances/{p}/messages", None), ("POST", f"{V1}/instances/{p}/messages", {"body": "Hei"}),
            ("GET", f"{V1}/instances/{p}/observations", None), ("POST", f"{V1}/instances/{p}/observations", bp),
            ("POST", f"{V1}/instances/{p}/observations/fhir", panel(120, 80)),
            ("GET", f"{V1}/instances/{p}/results", None), ("GET", f"{V1}/diaries/{d}", None),
            ("POST", f"{V1}/diaries/{d}/entries", {"data": world["meal"]}),
            ("PUT", f"{V1}/diaries/{d}/entries/1", {"data": world["meal"]}), ("POST", f"{V1}/diaries/{d}/close", {})]


def call(api: Caller, method: str, url: str, body):
    return {"GET": api.get, "POST": api.post, "PUT": api.put}[method](url, **({"json": body} if body else {}))


def quantity(value, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def panel(systolic, diastolic, unit="mm[Hg]", code="85354-9", **extra) -> dict:
    return {"resourceType": "Observation", "status": "final", "effectiveDateTime": CLOCK.now().isoformat(),
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "component": [{"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                           "valueQuantity": quantity(systolic, unit)},
                          {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                           "valueQuantity": quantity(diastolic, unit)}], **extra}


def single(code: str, value, unit: str, **extra) -> dict:
    return {"resourceType": "Observation", "status": "final", "effectiveDateTime": CLOCK.now().isoformat(),
            "code": {"coding": [{"system": LOINC, "code": code}]}, "valueQuantity": quantity(value, unit), **extra}


def access_rows(client_id: str = AINO) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AccessLog).where(AccessLog.client_id == client_id))


# --------------------------------------------------------------------------- whose objects


@pytest.mark.parametrize("who", [BERTIL, LAURI])
def test_another_clients_or_another_teams_caller_finds_nothing(app, world, who):
    """Bertil, another client, and Lauri, a doctor of a team that follows neither pathway: not found, nothing
    logged, nothing of Aino's in the answer."""
    before = access_rows()
    api = caller(app, who)
    for method, url, body in routes(world):
        response = call(api, method, url, body)
        assert response.status_code == 404, f"{who}: {method} {url} -> {response.status_code} {response.json}"
        assert AINO not in response.get_data(as_text=True)
    assert access_rows() == before


def test_the_team_reads_but_only_the_client_writes_her_measurements_and_diary(app, world):
    hanna, p, d = caller(app, HANNA), world["pressure"], world["diary"]
    assert hanna.get(f"{V1}/instances/{p}/observations").status_code == 200
    assert hanna.post(f"{V1}/instances/{p}/observations", {"systolic": 120, "diastolic": 80}).status_code == 403
    assert hanna.post(f"{V1}/instances/{p}/observations/fhir", panel(120, 80)).status_code == 403
    assert hanna.get(f"{V1}/diaries/{d}").status_code == 200
    assert hanna.post(f"{V1}/diaries/{d}/entries", {"data": world["meal"]}).status_code == 403
    assert hanna.put(f"{V1}/diaries/{d}/entries/1", {"data": world["meal"]}).status_code == 403
    assert hanna.post(f"{V1}/diaries/{d}/close", {}).status_code == 403
    assert hanna.get(f"{V1}/me/export").status_code == 403


def test_a_system_writes_no_messages_and_downloads_nobodys_own_data(app, world):
    system = caller(app, "potilastietojarjestelma")
    sent = system.post(f"{V1}/instances/{world['pressure']}/messages", {"body": "Hei"})
    assert sent.status_code == 403 and "system" in sent.json["message"]
    assert system.get(f"{V1}/instances/{world['pressure']}/messages").status_code == 200  # it may read them
    assert system.get(f"{V1}/me/export").status_code == 403


def test_a_client_downloads_only_her_own_data(app, world):
    bertil = caller(app, BERTIL).get(f"{V1}/me/export")
    assert bertil.status_code == 200 and AINO not in bertil.get_data(as_text=True)
    plans = [e["resource"] for e in bertil.json["entry"] if e["resource"]["resourceType"] == "CarePlan"]
    assert [p["id"] for p in plans] == [f"polku-{world['bertil']}"]


def test_a_task_that_is_no_diary_is_not_found_as_one(app, world):
    aino = caller(app, AINO)
    assert aino.get(f"{V1}/diaries/{world['reading']}").status_code == 404
    assert aino.post(f"{V1}/diaries/{world['reading']}/close", {}).status_code == 404
    assert aino.get(f"{V1}/diaries/{'x' * 40}").status_code == 404


def test_only_the_author_corrects_an_entry_and_only_while_the_diary_is_open(app, world):
    aino, d = caller(app, AINO), world["diary"]
    assert aino.put(f"{V1}/diaries/{d}/entries/2", {"data": world["meal"]}).status_code == 404
    wrong = aino.put(f"{V1}/diaries/{d}/entries/1", {"data": {"ateria": "lounas", "mita_soin": ""}})
    assert wrong.status_code == 422 and [e["field"] for e in wrong.json["errors"]] == ["/mita_soin"]
    assert aino.post(f"{V1}/diaries/{d}/close", {}).status_code == 200
    assert aino.post(f"{V1}/diaries/{d}/close", {}).status_code == 409
    assert aino.put(f"{V1}/diaries/{d}/entries/1", {"data": world["meal"]}).status_code == 409


# --------------------------------------------------------------------------- FHIR and readings


@pytest.mark.parametrize(("body", "field", "named"), [
    (single("8867-4", 72, "/min"), "/code/coding/0/code", "8867-4"),  # heart rate: not a kind Polku records
    (panel(120, 80, code="55284-4"), "/code/coding/0/code", "55284-4"),  # another blood-pressure panel
    (panel(120, 80, unit="kPa"), "/component/0/valueQuantity/code", "kPa"),
    ({**panel(120, 80), "code": {"coding": [{"system": "http://snomed.info/sct", "code": "75367002"}]}},
     "/code/coding", LOINC),
    ({**panel(120, 80), "component": [{"code": {"coding": [{"system": LOINC, "code": "8867-4"}]},
                                       "valueQuantity": quantity(72, "/min")}]},
     "/component/0/code/coding/0/code", "8867-4"),
    (panel(120, 80, subject={"reference": f"Patient/{BERTIL}"}), "/subject/reference", "client"),
    (panel(300, 80), "/component/0/valueQuantity/value", "260"),  # beyond what a meter can read
    (panel(80, 120), "/component/0/valueQuantity/value", "higher"),  # the systolic under the diastolic
    (panel(120.5, 80), "/component/0/valueQuantity/value", "integer"),
    ({**panel(120, 80), "component": panel(120, 80)["component"][:1]}, "/component", "Enter both"),
    (single("29463-7", 80, "kg"), "/code/coding/0/code", "weight"),  # a weight, on the blood-pressure pathway
    (panel(120, 80, effectiveDateTime=(START + timedelta(hours=2)).isoformat()), "/effectiveDateTime", "future"),
    (panel(120, 80, effectiveDateTime="2020-01-01T08:00:00+02:00"), "/effectiveDateTime", "before"),
])
def test_a_fhir_observation_polku_cannot_take_is_refused_naming_it(app, world, body, field, named):
    before = access_rows()
    response = caller(app, "verenpainemittari").post(f"{V1}/instances/{world['pressure']}/observations/fhir", body)
    assert response.status_code == 422, response.json
    assert field in [e["field"] for e in response.json["errors"]], response.json
    assert named in " ".join(e["message"] for e in response.json["errors"]), response.json
    assert access_rows() == before


@pytest.mark.parametrize("body", [
    {"resourceType": "Patient"}, {"resourceType": "Observation", "status": "preliminary"},
    {**panel(120, 80), "effectiveDateTime": "2027-03-01"}, {**panel(120, 80), "effectiveDateTime": "2027-03-01T10:00"},
    {**panel(120, 80), "component": [{"code": {}, "valueQuantity": {"value": "paljon"}}]}, [], "Observation",
])
def test_a_malformed_fhir_observation_is_a_4xx_naming_the_field(app, world, body):
    response = caller(app, AINO).post(f"{V1}/instances/{world['pressure']}/observations/fhir", body)
    assert response.status_code == 422, response.json
    assert response.json["errors"], response.json


def test_glucose_in_mg_per_dl_and_weight_in_pounds_are_recorded_in_polkus_units(app, ctx, clock):
    """Read through the same table the export writes: glucose by 2339-0 in mg/dL becomes mmol/L under 41653-7."""
    clock.set(START)
    deploy.deploy([package('<spiffworkflow:property name="measurements" value="glucose,weight" />',
                           consent=False)], "tester")
    iid = enrolment.join(queries.pathway_or_404("asetukset").latest, AINO, AINO, None).id
    aino = caller(app, AINO)
    glucose = aino.post(f"{V1}/instances/{iid}/observations/fhir", single("2339-0", 99, "mg/dL"))
    assert glucose.status_code == 201, glucose.json
    assert [(o["code"], o["value"], o["unit"]) for o in glucose.json["observations"]] == [("41653-7", 5.5, "mmol/L")]
    pounds = aino.post(f"{V1}/instances/{iid}/observations/fhir", single("29463-7", 180, "[lb_av]"))
    assert [(o["kind"], o["value"]) for o in pounds.json["observations"]] == [("weight", 81.6)]
    exported = aino.get(f"{V1}/me/export").json  # and out again with the same codes
    codes = {e["resource"]["code"]["coding"][0]["code"] for e in exported["entry"]
             if e["resource"]["resourceType"] == "Observation"}
    assert codes == {"41653-7", "29463-7"}


def test_a_reading_in_polkus_own_json_is_checked_as_the_page_checks_it(app, world):
    aino, url = caller(app, AINO), f"{V1}/instances/{world['pressure']}/observations"
    for body, field in [({}, "/systolic"), ({"systolic": 120, "diastolic": 20}, "/diastolic"),
                        ({"systolic": 120, "diastolic": 80, "measured_at": "2027-03-02T09:00:00+02:00"},
                         "/measured_at")]:
        response = aino.post(url, body)
        assert response.status_code == 422 and response.json["errors"][0]["field"] == field, response.json
    assert aino.post(url, {"systolic": "korkea"}).status_code == 422
    assert aino.post(url, {"pulse": 70}).status_code == 422
    assert aino.post(url, {"systolic": 120, "diastolic": 80, "measured_at": "2027-03-01T09:00"}).status_code == 422
    recorded = aino.post(url, {"systolic": 120, "diastolic": 80, "measured_at": "2027-03-01T10:02:00+02:00"})
    assert recorded.status_code == 201  # a device's clock a little ahead is fine
    assert {o["measured_at"] for o in recorded.json["observations"]} == {"2027-03-01T08:02:00+00:00"}


def test_measurements_on_an_ended_pathway_are_refused(app, world):
    aino = caller(app, AINO)
    assert aino.post(f"{V1}/instances/{world['pressure']}/withdraw", {}).status_code == 200
    assert aino.post(f"{V1}/instances/{world['pressure']}/observations",
                     {"systolic": 120, "diastolic": 80}).status_code == 409
    assert aino.post(f"{V1}/instances/{world['pressure']}/messages", {"body": "Hei"}).status_code == 409
    assert aino.get(f"{V1}/instances/{world['pressure']}/messages").status_code == 200  # her history stays


# --------------------------------------------------------------------------- declared results

DECLARED = '<spiffworkflow:property name="results" value="kiireellisyys:Kiireellisyys, arvio_puuttuu" />'


def test_only_declared_results_are_shown(app, ctx, clock):
    clock.set(START)
    deploy.deploy([package(DECLARED, consent=False)], "tester")
    nurse = caller(app, HANNA)
    started = nurse.post(f"{V1}/instances", {"pathway": "asetukset", "client_id": AINO})
    assert started.status_code == 201, started.json
    iid = started.json["id"]
    aino = caller(app, AINO)
    assert aino.complete(started.json["tasks"][0]["id"], ANSWERS["esitietolomake"]).status_code == 200
    for who in (aino, nurse):
        shown = who.get(f"{V1}/instances/{iid}/results")
        assert shown.status_code == 200
        assert [(r["name"], r["label"], r["set"]) for r in shown.json["results"]] == [
            ("kiireellisyys", "Kiireellisyys", True), ("arvio_puuttuu", "arvio_puuttuu", False)]
        body = shown.get_data(as_text=True)
        assert ANSWERS["esitietolomake"]["oireet"] not in body and "kipu" not in body and "oireet" not in body
    assert caller(app, LAURI).get(f"{V1}/instances/{iid}/results").status_code == 404
    assert caller(app, BERTIL).get(f"{V1}/instances/{iid}/results").status_code == 404


@pytest.mark.parametrize(("value", "reason"), [
    ("2pisteet", "'2pisteet' is not a process variable's name"),
    ("findrisc-pisteet:Pisteet", "'findrisc-pisteet' is not a process variable's name"),
    ("_salainen", "'_salainen' is not a process variable's name"),
    ("class", "'class' is not a process variable's name"),
    ("pisteet, pisteet:Pisteet", "'pisteet' is declared twice"),
    ("pisteet:", "has no label after the colon"),
    (" , ", "results must name at least one process variable"),
])
def test_a_wrong_results_declaration_is_refused_at_deploy(ctx, value, reason):
    with pytest.raises(PackageInvalid) as refused:
        deploy.deploy([package(f'<spiffworkflow:property name="results" value="{value}" />')], "tester")
    found = [f"{p.file} [{p.element}]: {p.reason}" for p in refused.value.problems]
    assert any(p.startswith("asetukset/esitieto.bpmn [esitietopolku]") and reason in p for p in found), found


# --------------------------------------------------------------------------- the access log


@pytest.mark.parametrize("who", [AINO, HANNA])
def test_each_response_that_shows_her_data_logs_one_row(app, world, who):
    api, p, d = caller(app, who), world["pressure"], world["diary"]
    reads = [f"{V1}/instances/{p}/messages", f"{V1}/instances/{p}/observations", f"{V1}/instances/{p}/results",
             f"{V1}/diaries/{d}"] + ([f"{V1}/me/export"] if who == AINO else [f"{V1}/conversations/unanswered"])
    for url in reads:
        before = access_rows()
        assert api.get(url).status_code == 200, url
        assert access_rows() == before + 1, url
    writes = [(api.post, f"{V1}/instances/{p}/messages", {"body": "Vastaus" if who == HANNA else "Lisäkysymys"})]
    if who == AINO:
        writes += [(api.post, f"{V1}/instances/{p}/observations", {"systolic": 120, "diastolic": 80}),
                   (api.post, f"{V1}/instances/{p}/observations/fhir", panel(121, 81)),
                   (api.post, f"{V1}/diaries/{d}/entries", {"data": world["meal"]}),
                   (api.put, f"{V1}/diaries/{d}/entries/1", {"data": world["meal"]}),
                   (api.post, f"{V1}/diaries/{d}/close", {})]
    for send, url, body in writes:
        before = access_rows()
        assert send(url, body).status_code in (200, 201), url
        assert access_rows() == before + 1, url


def test_the_teams_unanswered_messages_log_one_row_per_client(app, world):
    messaging.send(db.session.get(Instance, world["bertil"]), "client", BERTIL, "Bertil", "Fråga")
    before = {AINO: access_rows(AINO), BERTIL: access_rows(BERTIL)}
    waiting = caller(app, HANNA).get(f"{V1}/conversations/unanswered").json
    assert sorted(m["client_id"] for m in waiting) == [AINO, BERTIL]
    assert {c: access_rows(c) - before[c] for c in before} == {AINO: 1, BERTIL: 1}
    assert caller(app, LAURI).get(f"{V1}/conversations/unanswered").json == []
    assert caller(app, AINO).get(f"{V1}/conversations/unanswered").status_code == 403
