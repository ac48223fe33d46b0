"""A message declares its payload's fields (payloadSchema on bpmn:message): deploy checks the schema, delivery
checks the payload against it, and the nurse's task the message leads to shows the delivered values, labelled."""

import json
from types import SimpleNamespace

from sqlalchemy import func, select

from orchestrator.core.deliveries import latest_deliveries
from orchestrator.engine import PackageInvalid, payloads, runtime
from orchestrator.engine.xml import parse_xml
from orchestrator.extensions import db
from orchestrator.models import Event, HumanTask, Instance
from orchestrator.tools import deploy

from .conftest import ANSWERS, ROOT
from .engine_runner import EngineRun, package_files
from .fixtures.builders import HEAD, TAIL
from .helpers import CONSENT, DMN, LAB, SAMPLE, assert_rejected, package, text, upload

DECLARED = ('<bpmn:message id="lab_result_ready" name="lab_result_ready">\n'
            '    <bpmn:extensionElements>\n'
            '      <spiffworkflow:properties>\n'
            '        <spiffworkflow:property name="payloadSchema" value="laboratoriotulos.json" />\n'
            '      </spiffworkflow:properties>\n'
            '    </bpmn:extensionElements>\n'
            '  </bpmn:message>')
UNDECLARED = '<bpmn:message id="lab_result_ready" name="lab_result_ready" />'


def waiting_for_lab(api) -> dict:
    """The sample pathway of asiakas-123, its nurse having asked for lab tests: it waits for the result."""
    instance = api.start(client_id="asiakas-123")
    done = api.complete(task_of(instance, "esitietolomake"), ANSWERS["esitietolomake"]).json
    waiting = api.complete(task_of(done, "hoitajan_arvio"), ANSWERS["hoitajan_arvio_lab"]).json
    assert waiting["tasks"] == [] and waiting["waiting_for"] == ["lab_result_ready"]
    return waiting


def task_of(instance: dict, spec: str) -> str:
    [task] = [t["id"] for t in instance["tasks"] if t["spec"] == spec]
    return task


def deliver(api, instance: dict, payload: dict):
    return api.post("/api/v1/messages", {"name": "lab_result_ready", "instance_id": instance["id"],
                                         "payload": payload})


# --------------------------------------------------------------------------- the nurse's page


def test_the_nurse_sees_the_delivered_lab_results_labelled_on_the_review_task(sample, api, web_as):
    instance = waiting_for_lab(api)
    delivered = deliver(api, instance, {"hb": 141, "crp": 4})
    assert delivered.status_code == 200, delivered.json
    review = task_of(delivered.json, "tulosten_arvio")

    page = web_as("hoitaja.virtanen").get(f"/work/tasks/{review}")
    assert page.status_code == 200
    shown = text(page)
    assert "<h1>Arvioi laboratoriotulokset</h1>" in shown
    assert '<h2 id="delivered-1">Laboratoriotulokset</h2>' in shown
    assert "<dt>Hemoglobiini (Hb)</dt> <dd>141 g/l</dd>" in shown
    assert "<dt>C-reaktiivinen proteiini (CRP)</dt> <dd>4 mg/l</dd>" in shown
    # The instructions point at the results, which come before them on the page.
    assert "näkyvät yllä" in shown
    assert shown.index("Hemoglobiini (Hb)") < shown.index('<div class="instructions">') < shown.index("näkyvät yllä")


def test_the_task_in_the_api_carries_what_the_message_delivered(sample, api):
    instance = waiting_for_lab(api)
    review = task_of(deliver(api, instance, {"crp": 4, "hb": 141, "leuk": 6.2}).json, "tulosten_arvio")
    [sent] = api.get(f"/api/v1/tasks/{review}").json["delivered"]
    assert sent["message"] == "lab_result_ready" and sent["title"] == "Laboratoriotulokset" and sent["at"]
    # Declared fields first, in the schema's order; a key it does not declare is labelled with the key.
    assert sent["fields"] == [
        {"key": "hb", "title": "Hemoglobiini (Hb)", "unit": "g/l", "value": 141},
        {"key": "crp", "title": "C-reaktiivinen proteiini (CRP)", "unit": "mg/l", "value": 4},
        {"key": "leuk", "title": "leuk", "unit": None, "value": 6.2}]
    first = api.get(f"/api/v1/instances/{instance['id']}").json["history"][1]["task_id"]
    assert api.get(f"/api/v1/tasks/{first}").json["delivered"] == []  # a task no message leads to


def test_an_undeclared_key_is_shown_with_its_key_in_the_readers_number_format(sample, api, web_as):
    instance = waiting_for_lab(api)
    review = task_of(deliver(api, instance, {"hb": 128, "leuk": 6.2}).json, "tulosten_arvio")
    shown = text(web_as("hoitaja.virtanen").get(f"/work/tasks/{review}"))
    assert "<dt>Hemoglobiini (Hb)</dt> <dd>128 g/l</dd>" in shown
    assert "<dt>leuk</dt> <dd>6,2</dd>" in shown  # Finnish decimal comma, no unit
    assert "CRP" not in shown  # not delivered, not shown


# --------------------------------------------------------------------------- delivery checks the payload


def test_a_payload_that_does_not_fit_is_refused_naming_the_field_and_nothing_changes(sample, api, ctx):
    instance = waiting_for_lab(api)
    stored = db.session.get(Instance, instance["id"])
    lock_version, events = stored.lock_version, event_count(instance["id"])

    refused = deliver(api, instance, {"hb": "abc"})
    assert refused.status_code == 422
    assert refused.json["message"] == "the payload does not fit the fields of message 'lab_result_ready'"
    [error] = refused.json["errors"]
    assert error["field"] == "/hb" and "'abc' is not of type 'number'" in error["message"]
    # The same shape as answers that do not fit a task's form.
    answers = api.complete(task_of(api.start(), "esitietolomake"), {"kipu": "paljon"}).json
    assert set(refused.json) == set(answers) == {"code", "status", "message", "errors"}

    db.session.rollback()
    assert db.session.get(Instance, instance["id"]).lock_version == lock_version
    assert event_count(instance["id"]) == events
    assert db.session.scalar(select(func.count()).select_from(HumanTask).where(
        HumanTask.instance_id == instance["id"], HumanTask.spec == "tulosten_arvio")) == 0
    after = api.get(f"/api/v1/instances/{instance['id']}").json
    assert after["tasks"] == [] and after["waiting_for"] == ["lab_result_ready"]
    assert deliver(api, instance, {"hb": 141}).status_code == 200  # a fitting one still goes through


def test_every_field_that_does_not_fit_is_named(sample, api):
    instance = waiting_for_lab(api)
    refused = deliver(api, instance, {"hb": -5, "crp": "korkea"})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json["errors"]] == ["/crp", "/hb"]


def test_a_message_without_a_declared_schema_takes_any_payload_as_before(api, ctx):
    undeclared = package(replace=(DECLARED, UNDECLARED), consent=False)
    deploy.deploy([undeclared], "tester")
    instance = api.start("asetukset", client_id="asiakas-123")
    done = api.complete(task_of(instance, "esitietolomake"), ANSWERS["esitietolomake"]).json
    waiting = api.complete(task_of(done, "hoitajan_arvio"), ANSWERS["hoitajan_arvio_lab"]).json
    delivered = deliver(api, waiting, {"hb": "abc"})
    assert delivered.status_code == 200, delivered.json
    [sent] = api.get(f"/api/v1/tasks/{task_of(delivered.json, 'tulosten_arvio')}").json["delivered"]
    assert sent["title"] == "lab_result_ready"
    assert sent["fields"] == [{"key": "hb", "title": "hb", "unit": None, "value": "abc"}]


def event_count(instance_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Event).where(Event.instance_id == instance_id))


# --------------------------------------------------------------------------- deploy checks the declaration


def test_deploy_refuses_a_payload_schema_file_that_is_missing_naming_file_and_element(api, ctx):
    files = {"esitieto.bpmn": SAMPLE.encode(), "kiireellisyys.dmn": DMN, "suostumus.md": CONSENT}
    response = upload(api, files)
    assert_rejected(response, "payloadSchema file 'laboratoriotulos.json' not found in the package",
                    element="lab_result_ready")
    [problem] = response.json["errors"]
    assert problem["file"] == "testi/esitieto.bpmn" and problem["line"] == SAMPLE[:SAMPLE.index(DECLARED)].count(
        "\n") + 1


def test_deploy_refuses_a_payload_schema_that_is_not_json_or_not_a_schema(ctx):
    for broken, reason in ((b"{hb: 1", "payloadSchema file 'laboratoriotulos.json' is not valid JSON"),
                           (b'{"type": "objekti"}', "payloadSchema file 'laboratoriotulos.json' is not a valid JSON "
                                                    "Schema"),
                           (b'{"type": "array"}', "must describe an object"),
                           (json.dumps({"type": "object", "properties": {"hb": {"x-unit": 5}}}).encode(),
                            "the title and x-unit of 'hb' must be text")):
        try:
            deploy.deploy([package(files={"laboratoriotulos.json": broken})], "tester")
        except PackageInvalid as refused:
            [problem] = refused.problems
        else:
            raise AssertionError(f"deployed with {broken!r}")
        assert (problem.file, problem.element) == ("asetukset/esitieto.bpmn", "lab_result_ready")
        assert reason in problem.reason, problem.reason


def test_a_camunda_modeler_message_declares_its_schema_with_camunda_properties(ctx):
    camunda = SAMPLE.replace('xmlns:xsi=', 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi=', 1)
    camunda = camunda.replace(DECLARED, DECLARED.replace("spiffworkflow:", "camunda:"))
    assert "camunda:property name=\"payloadSchema\"" in camunda
    files = {"esitieto.bpmn": camunda.encode(), "kiireellisyys.dmn": DMN, "suostumus.md": CONSENT,
             "laboratoriotulos.json": LAB}
    version = deploy.deploy([deploy.from_files(files, "camunda", ROOT / "forms")], "tester")[0].version
    declared = version.settings["messages"]["lab_result_ready"]
    assert declared["payload_schema"] == "laboratoriotulos.json" and declared["schema"] == json.loads(LAB)


def test_a_changed_payload_schema_is_a_new_version_and_the_same_package_is_not(ctx):
    first = deploy.deploy([package()], "tester")[0]
    assert deploy.deploy([package()], "tester")[0].created is False
    changed = json.loads(LAB)
    changed["properties"]["hb"]["x-unit"] = "g/dl"
    again = deploy.deploy([package(files={"laboratoriotulos.json": json.dumps(changed).encode()})], "tester")[0]
    assert again.created and again.version.number == first.version.number + 1


# --------------------------------------------------------------------------- the engine and the flow


def test_spiffworkflow_parses_a_message_with_extension_elements_and_delivers_its_payload():
    run = EngineRun(package_files(ROOT / "bpmn" / "esitieto"), reload_every=1)
    assert '<spiffworkflow:property name="payloadSchema"' in run.compiled.sources["esitieto.bpmn"]
    run.complete("esitietolomake", ANSWERS["esitietolomake"])
    run.complete("hoitajan_arvio", ANSWERS["hoitajan_arvio_lab"])
    assert runtime.waiting_messages(run.workflow) == {"lab_result_ready"}
    run.step(runtime.deliver_message, "lab_result_ready", {"hb": 141, "crp": 4})
    assert set(run.ready()) == {"tulosten_arvio"}
    assert run.data()["laboratoriotulos"] == {"hb": 141, "crp": 4}  # the message variable, as before


def test_a_message_leads_to_the_first_human_tasks_after_it_through_gateways_and_other_tasks():
    bpmn = HEAD + DECLARED + """<bpmn:process id="p" isExecutable="true">
  <bpmn:startEvent id="alku"/>
  <bpmn:intermediateCatchEvent id="tulos"><bpmn:messageEventDefinition messageRef="lab_result_ready"/>
  </bpmn:intermediateCatchEvent>
  <bpmn:exclusiveGateway id="jako" default="f3"/>
  <bpmn:scriptTask id="laske"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
  <bpmn:userTask id="arvio"/>
  <bpmn:manualTask id="lue"/>
  <bpmn:userTask id="myohemmin"/>
  <bpmn:endEvent id="loppu"/>
  <bpmn:sequenceFlow id="f1" sourceRef="alku" targetRef="tulos"/>
  <bpmn:sequenceFlow id="f2" sourceRef="tulos" targetRef="jako"/>
  <bpmn:sequenceFlow id="f3" sourceRef="jako" targetRef="arvio"/>
  <bpmn:sequenceFlow id="f4" sourceRef="jako" targetRef="laske"/>
  <bpmn:sequenceFlow id="f5" sourceRef="laske" targetRef="lue"/>
  <bpmn:sequenceFlow id="f6" sourceRef="arvio" targetRef="myohemmin"/>
  <bpmn:sequenceFlow id="f7" sourceRef="lue" targetRef="loppu"/>
  <bpmn:sequenceFlow id="f8" sourceRef="myohemmin" targetRef="loppu"/>
</bpmn:process>""" + TAIL
    declared, problems = payloads.messages({"p.bpmn": parse_xml(bpmn.encode(), "p.bpmn")},
                                                   {"laboratoriotulos.json": LAB}.get)
    assert problems == []
    assert declared["lab_result_ready"]["leads_to"] == ["arvio", "lue"]


def test_a_repeated_task_shows_only_the_delivery_of_its_own_round():
    declared = {"lab_result_ready": {"schema": json.loads(LAB), "leads_to": ["arvio"]}}

    def event(at, kind, spec, payload=None):
        return SimpleNamespace(at=at, kind=kind, spec=spec, data={"payload": payload} if payload else {})

    events = [event(1, "message_delivered", "lab_result_ready", {"hb": 120}),
              event(2, "task_completed", "arvio"),
              event(3, "message_delivered", "lab_result_ready", {"hb": 135}),
              event(5, "message_delivered", "lab_result_ready", {"hb": 150})]  # after this round opened
    [shown] = latest_deliveries(declared, "arvio", 3, events)
    assert shown["at"] == 3 and [f["value"] for f in shown["fields"]] == [135]
    assert latest_deliveries(declared, "arvio", 2, events[:2]) == []
