"""Three sample pathways, and the diaries of a fourth, end to end through the REST API alone: the client Aino and
the nurse Hanna of team Hoitaja call it as a mobile app and the team's system would (the demo people's
X-Polku-Actor), the lab and a home blood-pressure meter's app as systems. Only the clock is moved, and the timers
that fall due are fired, as the scheduler would.

Consent is answered through the API; messages are sent and replied to under the service promise; measurements come
from tasks, from the client and, as a FHIR Observation, from the meter's app (an implausible one refused naming its
field, a high one reaching the team as an alert task); diaries are written, corrected and closed; the FINDRISC test's
declared results are read.
"""

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import func, select

from orchestrator.clock import CLOCK
from orchestrator.extensions import db
from orchestrator.models import AccessLog, Disclosure

from .conftest import ANSWERS, Api
from .helpers import deploy_all, wake

AINO, HANNA, LAB, METER = "asiakas-123", "hoitaja.virtanen", "laboratorio", "verenpainemittari"
START = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)  # Monday 1 March 2027, 10:00 in Helsinki
V1 = "/api/v1"


class Caller(Api):
    def put(self, url, json=None, **kw):
        return self.client.put(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)


@pytest.fixture
def people(app, client, clock, ctx):
    """Every pathway of bpmn/ deployed (each asks consent), the clock stopped at START; the callers."""
    clock.set(START)
    deploy_all()
    db.session.rollback()
    return SimpleNamespace(aino=Caller(client, AINO), nurse=Caller(client, HANNA), lab=Caller(client, LAB),
                           meter=Caller(client, METER), lauri=Caller(client, "laakari.korhonen"),
                           bertil=Caller(client, "asiakas-456"))


def offered(people, pathway: str, variables: dict | None = None) -> dict:
    """The nurse opens a professional pathway for Aino; Aino reads its consent text and gives consent."""
    offer = people.nurse.post(f"{V1}/instances", {"pathway": pathway, "client_id": AINO,
                                                   "variables": variables or {}})
    assert offer.status_code == 202, offer.json
    assert [o["id"] for o in people.aino.get(f"{V1}/offers").json] == [offer.json["id"]]
    shown = people.aino.get(f"{V1}/offers/{offer.json['id']}/consent").json
    started = people.aino.post(f"{V1}/offers/{offer.json['id']}/consent",
                               {"answer": "given", "text_hash": shown["text_hash"]})
    assert started.status_code == 201, started.json
    return started.json


def open_tasks(api: Api, instance_id: int) -> dict[str, dict]:
    """The caller's open tasks on the instance, by their BPMN id."""
    found = api.get(f"{V1}/tasks?instance={instance_id}")
    assert found.status_code == 200, found.json
    return {task["spec"]: task for task in found.json}


def answer(api: Api, instance_id: int, spec: str, data: dict) -> dict:
    task = open_tasks(api, instance_id)[spec]
    done = api.complete(task["id"], data)
    assert done.status_code == 200, done.json
    return done.json


def until_open(api: Api, instance_id: int, spec: str, days: int = 8) -> dict:
    """Fire the timers as they fall due until the caller's task opens."""
    limit = CLOCK.now() + timedelta(days=days)
    while spec not in (tasks := open_tasks(api, instance_id)):
        wake(limit, f"{spec} did not open by {limit}")
    return tasks[spec]


def drive(people, instance_id: int, answers: dict, until: str | None = None, days: int = 100) -> None:
    """Answer every open task of the instance that ``answers`` has an answer for (client's or team's), firing the
    timers as they fall due, until the task ``until`` opens or (without one) the pathway ends."""
    limit = CLOCK.now() + timedelta(days=days)
    while status(people, instance_id) == "running":
        tasks = {**open_tasks(people.aino, instance_id), **open_tasks(people.nurse, instance_id)}
        if until in tasks:
            return
        ready = [(spec, task) for spec, task in tasks.items() if spec in answers]
        for spec, task in ready:
            by = people.aino if task["audience"] == "client" else people.nurse
            data = answers[spec](task) if callable(answers[spec]) else answers[spec]
            assert by.complete(task["id"], data).status_code == 200, spec
        if not ready:
            wake(limit, f"the pathway did not reach {until or 'its end'} by {limit}")


def status(people, instance_id: int) -> str:
    return people.aino.get(f"{V1}/instances/{instance_id}").json["status"]


def access_rows(client_id: str = AINO) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AccessLog).where(AccessLog.client_id == client_id))


# --------------------------------------------------------------------------- esitieto: messages and the lab


@pytest.mark.clock(START)
def test_pre_visit_questionnaire_with_messages_under_the_service_promise(people):
    aino, nurse = people.aino, people.nurse
    instance = offered(people, "esitieto")
    iid = instance["id"]
    assert [t["spec"] for t in instance["tasks"]] == ["esitietolomake"]
    messages = f"{V1}/instances/{iid}/messages"

    # Aino asks on Monday at 10:00: the reply is due within two working days, by Wednesday 16:00 in Helsinki.
    empty = aino.post(messages, {"body": "   "})
    assert empty.status_code == 422 and empty.json["errors"][0]["field"] == "/body"
    sent = aino.post(messages, {"body": "Saanko ottaa kipulääkettä ennen vastaanottoa?"})
    assert sent.status_code == 201, sent.json
    assert (sent.json["sender"], sent.json["reply_by"], sent.json["late"]) == \
        ("client", "2027-03-03T14:00:00+00:00", False)
    conversation = nurse.get(messages).json
    assert conversation["reply_within_working_days"] == 2 and conversation["team"] == "Hoitaja"
    assert conversation["reply_by"] == "2027-03-03T14:00:00+00:00" and conversation["may_send"] is True
    assert people.lauri.get(messages).status_code == 404  # another team's doctor
    assert people.lauri.post(messages, {"body": "Hei"}).status_code == 404

    # Three days pass: the questionnaire's reminder fires, and the message is late in the team's inbox.
    wake(START + timedelta(days=4), "the reminder")
    reminders = aino.get(f"{V1}/notifications").json
    assert any("Muistathan täyttää esitietolomakkeen" in n["text"] for n in reminders)
    (waiting,) = nurse.get(f"{V1}/conversations/unanswered").json
    assert (waiting["instance_id"], waiting["late"], waiting["client_id"]) == (iid, True, AINO)
    assert nurse.get(messages).json["late"] is True

    reply = nurse.post(messages, {"body": "Voit ottaa parasetamolia ohjeen mukaan."})
    assert reply.status_code == 201 and (reply.json["sender"], reply.json["reply_by"]) == ("professional", None)
    read = aino.get(messages).json
    first, second = read["messages"]
    assert first["replied_at"] == reply.json["sent_at"] and first["late"] is True  # answered late
    assert (second["author_name"], second["read_at"] is not None) == ("Hanna Virtanen", True)
    assert (read["late"], read["reply_by"]) == (False, None)  # nothing is waiting any more
    assert nurse.get(f"{V1}/conversations/unanswered").json == []

    # The questionnaire, the nurse's assessment, the lab result and the nurse's answer, which Aino reads.
    answer(aino, iid, "esitietolomake", ANSWERS["esitietolomake"])
    task = open_tasks(nurse, iid)["hoitajan_arvio"]
    assert nurse.post(f"{V1}/tasks/{task['id']}/claim", {}).status_code == 200
    answer(nurse, iid, "hoitajan_arvio", ANSWERS["hoitajan_arvio_lab"])
    lab = people.lab.post(f"{V1}/messages", {"name": "lab_result_ready", "instance_id": iid,
                                             "payload": {"hb": 141, "crp": 4}})
    assert lab.status_code == 200, lab.json
    answer(nurse, iid, "tulosten_arvio", ANSWERS["tulosten_arvio"])
    done = answer(aino, iid, "asiakas_kuittaa", ANSWERS["asiakas_kuittaa"])
    assert done["status"] == "completed"

    # No results declared, no measurements taken; her data, downloaded, is a valid FHIR bundle.
    assert aino.get(f"{V1}/instances/{iid}/results").json["results"] == []
    assert aino.post(f"{V1}/instances/{iid}/observations", {"weight": 80}).status_code == 409
    assert nurse.post(messages, {"body": "Vielä yksi asia"}).status_code == 409  # the pathway has ended
    before = access_rows()
    exported = aino.get(f"{V1}/me/export")
    assert exported.status_code == 200 and access_rows() == before + 1
    bundle = Bundle.model_validate(exported.json)
    kinds = sorted(e.resource.__resource_type__ for e in bundle.entry)
    assert kinds == ["CarePlan", "Communication", "Communication", "QuestionnaireResponse", "QuestionnaireResponse"]
    assert db.session.scalar(select(func.count()).select_from(Disclosure).where(Disclosure.client_id == AINO)) == 1
    assert nurse.get(f"{V1}/me/export").status_code == 403


# --------------------------------------------------------------------------- verenpaine: readings and alerts

NORMAL = {"systolinen_1": 126, "diastolinen_1": 80, "systolinen_2": 124, "diastolinen_2": 78}
HIGH = {"systolinen_1": 148, "diastolinen_1": 92, "systolinen_2": 144, "diastolinen_2": 90}


def blood_pressure(systolic, diastolic, unit: str = "mm[Hg]", at: datetime | None = None) -> dict:
    """A FHIR R4 Observation as a home meter's app sends one: the blood-pressure panel with its two components."""
    def component(code: str, value) -> dict:
        return {"code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "valueQuantity": {"value": value, "unit": "mmHg", "system": "http://unitsofmeasure.org",
                                  "code": unit}}

    return {"resourceType": "Observation", "status": "final", "id": "meter-1",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "vital-signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9",
                                 "display": "Blood pressure panel with all children optional"}]},
            "subject": {"reference": f"Patient/{AINO}"},
            "effectiveDateTime": (at or CLOCK.now() - timedelta(minutes=10)).isoformat(),
            "component": [component("8480-6", systolic), component("8462-4", diastolic)]}


def alerts(people, instance_id: int) -> list[dict]:
    found = people.nurse.get(f"{V1}/tasks?role=Hoitaja&instance={instance_id}").json
    return [t for t in found if t["spec"] == "kohonneet_arvot"]


@pytest.mark.clock(START)
def test_home_blood_pressure_with_a_meter_app_and_alerts_for_the_team(people):
    aino, nurse, meter = people.aino, people.nurse, people.meter
    iid = offered(people, "verenpaine")["id"]
    answer(aino, iid, "mittausohje", {})
    free = f"{V1}/instances/{iid}/observations"

    # Readings that cannot be right are refused naming the field, as on the pathway page.
    implausible = aino.post(free, {"systolic": 300, "diastolic": 90})
    assert implausible.status_code == 422 and [e["field"] for e in implausible.json["errors"]] == ["/systolic"]
    assert "60" in implausible.json["errors"][0]["message"] and "260" in implausible.json["errors"][0]["message"]
    half = aino.post(free, {"systolic": 120})
    assert half.status_code == 422 and {e["field"] for e in half.json["errors"]} == {"/systolic", "/diastolic"}
    assert aino.post(free, {"weight": 80}).json["errors"][0]["field"] == "/weight"  # not this pathway's

    # The first reading of the series, high: Aino is told at once what it means, and the team gets an alert.
    until_open(aino, iid, "verenpainemittaus")
    done = answer(aino, iid, "verenpainemittaus", HIGH)
    assert any("146/91 mmHg" in said for said in done["told"]), done["told"]
    (alert,) = alerts(people, iid)
    assert alert["priority"] > 50 and alert["summary"].startswith("146/91 mmHg")

    # The meter's app sends a reading as FHIR; a high one reaches the team exactly as one typed on the page.
    implausible = meter.post(f"{free}/fhir", blood_pressure(400, 96))
    assert implausible.status_code == 422
    assert implausible.json["errors"][0]["field"] == "/component/0/valueQuantity/value"
    wrong_unit = meter.post(f"{free}/fhir", blood_pressure(152, 96, unit="kPa"))
    assert wrong_unit.status_code == 422 and wrong_unit.json["errors"][0]["field"] == \
        "/component/0/valueQuantity/code" and "kPa" in wrong_unit.json["errors"][0]["message"]
    sent = meter.post(f"{free}/fhir", blood_pressure(152, 96))
    assert sent.status_code == 201, sent.json
    assert [(o["kind"], o["code"], o["value"], o["unit"]) for o in sent.json["observations"]] == \
        [("systolic", "8480-6", 152.0, "mmHg"), ("diastolic", "8462-4", 96.0, "mmHg")]
    assert any("Kirjaamasi mittaus 152/96 mmHg" in said for said in sent.json["told"]), sent.json["told"]
    both = alerts(people, iid)
    assert sorted(a["summary"] for a in both) == [alert["summary"], "152/96 mmHg – koholla (itse kirjattu)"]
    for each in both:
        assert nurse.complete(each["id"], {"toimenpide": "seuranta", "kirjaus": "Seuranta jatkuu."}).status_code == 200

    # Aino records one herself too, normal; then the series runs its week, answered through the API.
    mine = aino.post(free, {"systolic": 128, "diastolic": 82})
    assert mine.status_code == 201 and alerts(people, iid) == []
    drive(people, iid, {"verenpainemittaus": NORMAL, "laboratoriokaynti": {"kayty": True}},
          until="yhteenveto_hoitaja", days=10)
    listed = nurse.get(free).json
    assert listed["measurements"] == ["systolic", "diastolic"] and listed["targets"]["systolic"] == [90.0, 135.0]
    by_meter = [o for o in listed["observations"] if o["recorded_by"] == METER]
    assert [(o["kind"], o["value"], o["task_id"]) for o in by_meter] == [("systolic", 152.0, None),
                                                                       ("diastolic", 96.0, None)]
    assert len([o for o in listed["observations"] if o["task_id"]]) == 14 * 4  # two readings of each, both kinds
    answer(nurse, iid, "yhteenveto_hoitaja", {"jatko": "ennallaan", "yhteenveto": "Verenpaineesi on hyvä."})
    assert answer(aino, iid, "lue_yhteenveto", {})["status"] == "completed"
    assert meter.post(f"{free}/fhir", blood_pressure(130, 80)).status_code == 409  # the pathway has ended


# --------------------------------------------------------------------------- diabetesriski: the declared results

FINDRISC = {"ika_pisteet": 3, "sukupuoli": "mies", "pituus": 178, "paino": 95, "vyotaro": 104, "liikunta_pisteet": 2,
            "kasvikset_pisteet": 1, "verenpainelaake_pisteet": 2, "verensokeri_pisteet": 0, "suku_pisteet": 3}


@pytest.mark.clock(START)
def test_diabetes_risk_self_care_pathway_and_its_declared_results(people):
    aino = people.aino
    asked = aino.post(f"{V1}/instances", {"pathway": "diabetesriski"})
    assert asked.status_code == 409
    (consent,) = asked.json["errors"]
    started = aino.post(f"{V1}/pathways/diabetesriski/consent", {"answer": "given", "text_hash": consent["text_hash"]})
    assert started.status_code == 201, started.json
    iid = started.json["id"]
    results = f"{V1}/instances/{iid}/results"

    before = aino.get(results).json["results"]
    assert [(r["name"], r["set"]) for r in before] == [("findrisc_pisteet", False), ("findrisc_luokka", False),
                                                      ("findrisc_riski", False)]
    answer(aino, iid, "lue_diabetes", {})
    answer(aino, iid, "findrisc_testi", FINDRISC)
    shown = aino.get(results).json
    assert {r["name"]: (r["label"], r["value"]) for r in shown["results"]} == {
        "findrisc_pisteet": ("FINDRISC-pisteet", 16), "findrisc_luokka": ("Riskiluokka", "korkea"),
        "findrisc_riski": ("Riski sairastua 10 vuodessa", "noin 1/3")}
    assert "bmi_pisteet" not in json.dumps(shown) and "paino" not in json.dumps(shown)  # nothing undeclared
    assert people.nurse.get(results).status_code == 404  # self-care: no professional sees it
    assert people.bertil.get(results).status_code == 404

    # She records her weight freely (the pathway takes weight and waist), also as FHIR with another waist code.
    assert aino.post(f"{V1}/instances/{iid}/observations", {"weight": 94.5}).status_code == 201
    waist = {"resourceType": "Observation", "status": "final", "effectiveDateTime": CLOCK.now().isoformat(),
             "code": {"coding": [{"system": "http://loinc.org", "code": "56086-2"}]},
             "valueQuantity": {"value": 103.5, "unit": "cm", "system": "http://unitsofmeasure.org", "code": "cm"}}
    assert aino.post(f"{V1}/instances/{iid}/observations/fhir", waist).status_code == 201
    kinds = [(o["kind"], o["code"]) for o in aino.get(f"{V1}/instances/{iid}/observations").json["observations"]]
    assert ("waist", "8280-0") in kinds and ("weight", "29463-7") in kinds

    answer(aino, iid, "tulos", {})
    answer(aino, iid, "lue_korkea_riski", {})
    assert answer(aino, iid, "uusintatesti_kysely", {"muistutus": False})["status"] == "completed"
    after = {r["name"]: r["value"] for r in aino.get(results).json["results"]}
    assert after == {"findrisc_pisteet": 16, "findrisc_luokka": "korkea", "findrisc_riski": "noin 1/3"}


# --------------------------------------------------------------------------- painonhallinta: diaries

MEAL = {"ateria": "lounas", "mita_soin": "Kalakeittoa ja ruisleipää", "kasvikset": True}
WEIGHT = {"aloituskysely": {"tavoite": "Haluan laihtua 5 kiloa.", "valmius": 8, "ateriat_paivassa": "3-4",
                            "kasvikset_paivittain": False, "liikunta_viikossa": "alle-1h", "pituus": 168,
                            "paino": 92.4, "vyotaro": 104},
          "lue_ruokavalio": {}, "lue_arkiliikunta": {}, "lue_muutos_pysyvaksi": {}, "lue_valiarvio": {},
          "viikkopunnitus": {"paino": 91.0}, "vyotaromittaus": {"vyotaro": 101},
          "valiarvio": {"edistyminen": "hyvin", "arvio": "Paino laskee.", "vastaanotto": False,
                        "viesti_asiakkaalle": "Hienoa työtä!"},
          "loppukysely": {"tavoite_toteutui": "osittain", "muutokset": "Kävelen päivittäin.", "suosittelu": 9,
                          "helppous": 6}}


@pytest.mark.clock(START)
def test_weight_management_diaries_are_written_corrected_and_closed(people):
    aino, nurse = people.aino, people.nurse
    iid = offered(people, "painonhallinta", {"ruokapaivakirja": True, "liikuntapaivakirja": True})["id"]
    answer(aino, iid, "aloituskysely", WEIGHT["aloituskysely"])  # the diaries open with the start
    tasks = open_tasks(aino, iid)
    food, exercise = tasks["ruokapaivakirja"]["id"], tasks["liikuntapaivakirja"]["id"]

    empty = aino.get(f"{V1}/diaries/{food}").json
    assert (empty["diary"], empty["state"], empty["entries"]) == ("food", "open", [])
    assert set(empty["form_schema"]["properties"]) == {"ateria", "mita_soin", "kasvikset"}
    wrong = aino.post(f"{V1}/diaries/{food}/entries", {"data": {"ateria": "brunssi"}})
    assert wrong.status_code == 422 and {e["field"] for e in wrong.json["errors"]} == {"/ateria", "/mita_soin"}
    added = aino.post(f"{V1}/diaries/{food}/entries", {"data": MEAL})
    assert added.status_code == 201 and (added.json["number"], added.json["day"]) == (1, "2027-03-01")
    second = aino.post(f"{V1}/diaries/{food}/entries", {"data": {**MEAL, "ateria": "paivallinen"}})
    assert second.json["number"] == 2

    corrected = aino.put(f"{V1}/diaries/{food}/entries/1", {"data": {**MEAL, "mita_soin": "Lohikeittoa"}})
    assert corrected.status_code == 200 and corrected.json["data"]["mita_soin"] == "Lohikeittoa"
    assert aino.put(f"{V1}/diaries/{food}/entries/3", {"data": MEAL}).status_code == 404
    assert nurse.put(f"{V1}/diaries/{food}/entries/1", {"data": MEAL}).status_code == 403
    assert people.bertil.get(f"{V1}/diaries/{food}").status_code == 404
    seen = nurse.get(f"{V1}/diaries/{food}").json  # the team follows the diary, by day
    assert [(e["number"], e["data"]["mita_soin"]) for e in seen["entries"]] == \
        [(1, "Lohikeittoa"), (2, "Kalakeittoa ja ruisleipää")]

    # The exercise diary: one entry, then marked done; the pathway goes on without it.
    run = {"liikunta": "Kävely", "kesto_min": 45, "rasitus": "kohtalainen"}
    assert aino.post(f"{V1}/diaries/{exercise}/entries", {"data": run}).status_code == 201
    closed = aino.post(f"{V1}/diaries/{exercise}/close", {})
    assert closed.status_code == 200 and "liikuntapaivakirja" not in {t["spec"] for t in closed.json["tasks"]}
    assert aino.post(f"{V1}/diaries/{exercise}/entries", {"data": run}).status_code == 409
    assert aino.get(f"{V1}/diaries/{exercise}").json["state"] == "completed"

    # The food diary is ended by its phase on day 14 at 22:00; the twelve weeks then run to their end.
    drive(people, iid, WEIGHT, until=None, days=100)
    assert status(people, iid) == "completed"
    ended = aino.get(f"{V1}/diaries/{food}").json
    assert ended["state"] == "cancelled" and len(ended["entries"]) == 2
    assert aino.post(f"{V1}/diaries/{food}/entries", {"data": MEAL}).status_code == 409
    assert aino.put(f"{V1}/diaries/{food}/entries/2", {"data": MEAL}).status_code == 409
