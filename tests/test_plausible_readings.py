"""Readings that cannot be right are refused wherever they are entered: a blood pressure needs both readings and
the systolic above the diastolic (the task's page, the API, the pathway page's free measurements); a weight may
be typed with a decimal comma or point and its unit; a number out of range is told the range with the unit; a
form whose blood-pressure fields do not pair up is not deployed."""

import json
import re
from datetime import UTC, datetime

import lxml.html
import pytest
from flask_babel import force_locale
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from orchestrator.care import enrolment
from orchestrator.core import queries, steps
from orchestrator.core.answers import field_errors
from orchestrator.engine.measurements import pairs, unpaired
from orchestrator.extensions import db
from orchestrator.models import HumanTask, Observation, TaskDraft
from orchestrator.web import schema_form

from .conftest import ROOT, Api
from .helpers import assert_rejected, deploy_all, open_task, text, until_open, upload

START = datetime(2027, 1, 4, 7, 0, tzinfo=UTC)  # Monday 09:00 in Helsinki
pytestmark = pytest.mark.clock(START)
BLOOD_PRESSURE = json.loads((ROOT / "bpmn" / "verenpaine" / "verenpainemittaus.json").read_text())
WEIGHING = json.loads((ROOT / "bpmn" / "painonhallinta" / "viikkopunnitus.json").read_text())
FIRST = ("Yläpaine, 1. mittaus", "Alapaine, 1. mittaus")
NOT_ABOVE = "Yläpaine, 1. mittaus (80) must be higher than Alapaine, 1. mittaus (120)."
BOTH = "Enter both Yläpaine, 1. mittaus and Alapaine, 1. mittaus."


@pytest.fixture
def on(app, clock, ctx):
    """``on(key, **variables)``: Aino on that pathway, in the test's application context."""
    deploy_all()
    app.config["POLKU_IDLE_MINUTES"] = 10 ** 7  # the clock moves days; the browser stays signed in

    def start(key: str, **variables):
        return enrolment.join(queries.pathway_or_404(key).latest, "asiakas-123", "asiakas-123", "given", variables)
    return start


@pytest.fixture
def aino(web_as):
    """Aino's browser, in English: the messages are checked as written, before their translation."""
    browser = web_as("asiakas-123")
    browser.get("/lang/en?next=/me")
    return browser


def done(instance_id: int, spec: str) -> None:
    steps.complete(until_open(instance_id, spec).id, {}, "asiakas-123")


def measuring(on) -> HumanTask:
    """The verenpaine pathway's first home measurement, open for Aino."""
    instance = on("verenpaine")
    done(instance.id, "mittausohje")
    return until_open(instance.id, "verenpainemittaus")


def weighing(on) -> HumanTask:
    """The painonhallinta pathway's first weekly weighing, open for Aino."""
    instance = on("painonhallinta", ruokapaivakirja=False, liikuntapaivakirja=False)
    steps.complete(until_open(instance.id, "aloituskysely").id,
                   {"tavoite": "Laihtua", "valmius": 8, "pituus": 170, "paino": 96, "vyotaro": 104}, "asiakas-123")
    return until_open(instance.id, "viikkopunnitus")


def observations() -> list[tuple[str, float]]:
    db.session.rollback()
    return [(o.kind, o.value) for o in db.session.scalars(select(Observation).order_by(Observation.id))]


def errors_on(page, *names: str) -> dict[str, str]:
    """The error shown beside each named field of a task's form."""
    html = lxml.html.fromstring(page.get_data(as_text=True))
    return {name: " ".join(html.get_element_by_id(f"f-{name}-error").text_content().split()) for name in names}


def reading(first: tuple = (128, 82), second: tuple = (126, 80)) -> dict:
    return {"systolinen_1": first[0], "diastolinen_1": first[1], "systolinen_2": second[0],
            "diastolinen_2": second[1]}


def posted(answers: dict, **more) -> dict:
    return {**{name: "" if value is None else str(value) for name, value in answers.items()}, **more}


# --------------------------------------------------------------------------- blood pressure: the task's page


def test_the_blood_pressure_page_refuses_a_systolic_below_its_diastolic_and_keeps_what_was_typed(on, aino):
    task = measuring(on)
    key = re.search(r'name="key" value="([^"]+)"', text(aino.get(f"/me/tasks/{task.id}"))).group(1)
    saved = aino.post(f"/me/tasks/{task.id}", posted(reading((80, 120)), action="draft"))
    assert saved.status_code == 200

    page = aino.post(f"/me/tasks/{task.id}", posted(reading((80, 120)), key=key, action="send",
                                                    huomiot="Mittasin istuen"))

    assert page.status_code == 422
    assert errors_on(page, "systolinen_1", "diastolinen_1") == {"systolinen_1": f"Error: {NOT_ABOVE}",
                                                                "diastolinen_1": f"Error: {NOT_ABOVE}"}
    body = text(page)
    # in the summary, for each field (its label in the pathway's language)
    assert f'<a href="#f-systolinen_1"><span lang="fi">{FIRST[0]}</span>: {NOT_ABOVE}</a>' in body
    assert f'<a href="#f-diastolinen_1"><span lang="fi">{FIRST[1]}</span>: {NOT_ABOVE}</a>' in body
    html = lxml.html.fromstring(page.get_data(as_text=True))
    assert [html.get_element_by_id(f"f-{n}").get("value") for n in reading()] == ["80", "120", "126", "80"]
    assert html.get_element_by_id("f-huomiot").text_content() == "Mittasin istuen"
    assert "f-systolinen_2-error" not in body  # the second reading is fine
    assert open_task(task.instance_id, "verenpainemittaus").id == task.id and observations() == []
    draft = db.session.scalars(select(TaskDraft).where(TaskDraft.task_id == task.id)).one()
    assert draft.data == reading((80, 120))  # what was saved is kept

    sent = aino.post(f"/me/tasks/{task.id}", posted(reading((128, 82)), key=key, action="send"))
    assert sent.status_code == 302
    assert observations() == [("systolic", 128), ("diastolic", 82), ("systolic", 126), ("diastolic", 80)]


def test_the_blood_pressure_page_refuses_a_systolic_without_its_diastolic_naming_both(on, aino):
    task = measuring(on)

    page = aino.post(f"/me/tasks/{task.id}", posted(reading((128, None)), action="send"))

    assert page.status_code == 422
    # Both fields say it, the one left empty too (rather than a bare "required").
    assert errors_on(page, "systolinen_1", "diastolinen_1") == {"systolinen_1": f"Error: {BOTH}",
                                                                "diastolinen_1": f"Error: {BOTH}"}
    assert lxml.html.fromstring(page.get_data(as_text=True)).get_element_by_id("f-systolinen_1").get("value") == "128"
    assert observations() == [] and open_task(task.instance_id, "verenpainemittaus") is not None


def test_the_blood_pressure_page_asks_whole_numbers_and_tells_the_range_with_the_unit(on, aino):
    task = measuring(on)

    page = aino.post(f"/me/tasks/{task.id}", posted(reading((300, 82), ("120,5", 80)), action="send"))

    assert page.status_code == 422
    assert errors_on(page, "systolinen_1", "systolinen_2") == {
        "systolinen_1": "Error: Enter a value between 60 and 260 mmHg.",
        "systolinen_2": "Error: Enter a whole number, for example 128."}
    typed = aino.post(f"/me/tasks/{task.id}", posted(reading(("128 mmHg", "82mmhg")), action="send"))
    assert typed.status_code == 302  # the unit after the number is the field's own
    assert observations()[:2] == [("systolic", 128), ("diastolic", 82)]


# --------------------------------------------------------------------------- blood pressure: the API


def test_the_api_refuses_the_same_readings_with_the_same_messages_on_both_fields(on, client):
    task = measuring(on)
    api = Api(client, "asiakas-123")

    below = api.complete(task.id, reading((80, 120)))
    alone = api.complete(task.id, {"systolinen_1": 128, "systolinen_2": 126, "diastolinen_2": 80})
    high = api.complete(task.id, reading((128, 82), (126, 200)))

    assert below.status_code == alone.status_code == high.status_code == 422
    assert below.json["message"] == "the answers do not fit the form"
    assert below.json["errors"] == [{"field": "/systolinen_1", "message": NOT_ABOVE},
                                    {"field": "/diastolinen_1", "message": NOT_ABOVE}]
    assert {"field": "/systolinen_1", "message": BOTH} in alone.json["errors"]
    assert {"field": "/diastolinen_1", "message": BOTH} in alone.json["errors"]
    # Out of its range, a reading is told the range, not also that it is above the systolic.
    assert high.json["errors"] == [{"field": "/diastolinen_2", "message": "Enter a value between 30 and 160 mmHg."}]
    assert observations() == [] and open_task(task.instance_id, "verenpainemittaus") is not None

    assert api.complete(task.id, reading((128, 82))).status_code == 200
    assert [kind for kind, _ in observations()] == ["systolic", "diastolic", "systolic", "diastolic"]


def test_the_page_and_the_api_check_readings_through_the_same_code(app):
    answers = {name: value for name, value in reading((80, 120), (126, None)).items() if value is not None}
    api = {e["field"] for e in field_errors(BLOOD_PRESSURE, answers) if "Yläpaine" in e["message"]}
    with app.test_request_context(), force_locale("en"):
        page = schema_form.validate(BLOOD_PRESSURE, answers)
    assert api == {"/systolinen_1", "/diastolinen_1", "/systolinen_2", "/diastolinen_2"}
    assert page["/systolinen_1"] == [NOT_ABOVE] and page["/diastolinen_2"] == [
        "Enter both Yläpaine, 2. mittaus and Alapaine, 2. mittaus."]


# --------------------------------------------------------------------------- free measurements on the pathway page


def test_free_blood_pressure_readings_are_refused_when_they_cannot_be_right(on, aino):
    instance = on("verenpaine")
    url = f"/me/pathways/{instance.id}/measurements"

    below = aino.post(url, {"systolic": "80", "diastolic": "120"})
    alone = aino.post(url, {"systolic": "128", "diastolic": ""})

    assert below.status_code == alone.status_code == 422
    for page, message in ((below, "Systolic pressure (80) must be higher than Diastolic pressure (120)."),
                          (alone, "Enter both Systolic pressure and Diastolic pressure.")):
        body = text(page)
        for key, label in (("systolic", "Systolic pressure"), ("diastolic", "Diastolic pressure")):
            # The service's own measurements are named in the reader's language.
            assert f'<a href="#measure-{key}"><span>{label}</span>: {message}</a>' in body
            assert (f'<p class="error-message" id="measure-{key}-error"><span class="error-prefix">Error:</span> '
                    f'{message}</p>') in body
    assert 'id="measure-systolic" name="systolic" inputmode="decimal" autocomplete="off" value="128"' in text(alone)
    unread = text(aino.post(url, {"systolic": "128/82", "diastolic": "82"}))
    assert '<a href="#measure-systolic"><span>Systolic pressure</span>: Enter a whole number, for example 128.</a>' \
        in unread
    assert "measure-diastolic-error" not in unread  # typed, and fine: not told to enter both
    assert observations() == []

    assert aino.post(url, {"systolic": "128 mmHg", "diastolic": "82"}).status_code == 302
    assert observations() == [("systolic", 128), ("diastolic", 82)]


@pytest.mark.parametrize("typed", ["83,1", "83.1", "83,1 kg", " 83.1kg "])
def test_a_weight_is_read_with_a_comma_or_a_point_and_its_unit(on, aino, typed):
    instance = on("painonhallinta", ruokapaivakirja=False, liikuntapaivakirja=False)

    saved = aino.post(f"/me/pathways/{instance.id}/measurements", {"weight": typed, "waist": ""})

    assert saved.status_code == 302
    assert observations() == [("weight", 83.1)]


def test_a_free_weight_out_of_range_or_not_a_number_says_what_to_enter(on, aino, web_as):
    instance = on("painonhallinta", ruokapaivakirja=False, liikuntapaivakirja=False)
    url = f"/me/pathways/{instance.id}/measurements"

    far = text(aino.post(url, {"weight": "400 kg"}))
    words = text(aino.post(url, {"weight": "83,1 kiloa", "waist": "92 cm"}))

    assert '<a href="#measure-weight"><span>Weight</span>: Enter a value between 20 and 350 kg.</a>' in far
    assert '<a href="#measure-weight"><span>Weight</span>: Enter a number, for example 83.1.</a>' in words
    assert "between" not in words and "measure-waist-error" not in words
    finnish = text(web_as("asiakas-123").post(url, {"weight": "83.1 kiloa"}))
    assert re.search(r'id="measure-weight-error">.*?\b83,1\.</p>', finnish)  # the example written the Finnish way
    assert observations() == []


# --------------------------------------------------------------------------- the weekly weighing task


def test_the_weekly_weighing_reads_83_comma_1_and_83_point_1_kg_and_tells_the_range_in_kg(on, aino, client):
    task = weighing(on)

    far = aino.post(f"/me/tasks/{task.id}", {"paino": "301", "action": "send"})
    words = aino.post(f"/me/tasks/{task.id}", {"paino": "83.1 kiloa", "action": "send"})

    assert errors_on(far, "paino") == {"paino": "Error: Enter a value between 30 and 300 kg."}
    assert errors_on(words, "paino") == {"paino": "Error: Enter a number, for example 83.1."}
    assert lxml.html.fromstring(words.get_data(as_text=True)).get_element_by_id("f-paino").get("value") == \
        "83.1 kiloa"
    assert Api(client, "asiakas-123").complete(task.id, {"paino": 301}).json["errors"] == [
        {"field": "/paino", "message": "Enter a value between 30 and 300 kg."}]
    assert [kind for kind, _ in observations()] == ["weight", "waist"]  # the start questionnaire's only

    assert aino.post(f"/me/tasks/{task.id}", {"paino": "83.1 kg", "action": "send"}).status_code == 302
    assert observations()[-1] == ("weight", 83.1)
    db.session.rollback()
    assert db.session.get(HumanTask, task.id).state == "completed"


@pytest.mark.parametrize("typed", ["83,1", "83.1", "83,1 kg", " 83.1kg ", "83,1 KG"])
def test_the_weighing_form_reads_a_weight_however_it_is_written(typed, app):
    with app.test_request_context():
        assert schema_form.read(WEIGHING, MultiDict({"paino": typed})) == ({"paino": 83.1}, {})


# --------------------------------------------------------------------------- deploy


def test_the_sample_forms_pair_their_blood_pressure_fields():
    assert pairs(BLOOD_PRESSURE) == [("systolinen_1", "diastolinen_1"), ("systolinen_2", "diastolinen_2")]
    assert unpaired(BLOOD_PRESSURE) == [] and pairs(WEIGHING) == []


def blood_pressure_package(form: dict) -> dict[str, bytes]:
    """The verenpaine package as it is in bpmn/, its measurement form replaced."""
    files = {p.name: p.read_bytes() for p in (ROOT / "bpmn" / "verenpaine").iterdir()}
    return {**files, "verenpainemittaus.json": json.dumps(form, ensure_ascii=False).encode()}


def test_deploy_refuses_a_form_with_a_systolic_field_and_no_diastolic_naming_the_field_and_the_file(api, ctx):
    form = json.loads(json.dumps(BLOOD_PRESSURE))
    for name in ("diastolinen_1", "diastolinen_2"):
        del form["properties"][name]
    form["required"] = ["systolinen_1", "systolinen_2"]

    refused = upload(api, blood_pressure_package(form), key="verenpaine")

    reason = "this systolic field has no diastolic field to pair with (the n-th systolic field pairs with the " \
             "n-th diastolic, in property order)"
    assert_rejected(refused, f"form 'verenpainemittaus.json': field 'systolinen_1': {reason}",
                    f"form 'verenpainemittaus.json': field 'systolinen_2': {reason}", element="verenpainemittaus")
    assert {p["file"] for p in refused.json["errors"]} == {"verenpaine/verenpaine.bpmn"}
    assert upload(api, blood_pressure_package(BLOOD_PRESSURE), key="verenpaine").status_code == 201


def test_deploy_names_the_systolic_field_left_over_when_there_are_more_of_them(api, ctx):
    form = json.loads(json.dumps(BLOOD_PRESSURE))
    del form["properties"]["diastolinen_2"]
    form["required"].remove("diastolinen_2")

    refused = upload(api, blood_pressure_package(form), key="verenpaine")

    assert_rejected(refused, "field 'systolinen_2': this systolic field has no diastolic field")
    assert "systolinen_1" not in json.dumps(refused.json, ensure_ascii=False)
