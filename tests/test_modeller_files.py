"""Files as other modellers write them: each refused with the rewrite to make, or taken as SpiffWorkflow takes it."""

from pathlib import Path

import pytest

from .fixtures.builders import HEAD, TAIL, process_bpmn
from .helpers import assert_rejected, upload


def condition(expression: str) -> bytes:
    return process_bpmn(condition=expression).encode()


@pytest.mark.parametrize(("written", "python"), [
    ("${approved}", "approved"),
    ("${laboratorio &amp;&amp; !kiire}", "laboratorio and not kiire"),
    ("#{pisteet &gt;= 12 || riski == true}", "pisteet >= 12 or riski == True"),
])
def test_a_camunda_7_juel_condition_is_refused_with_the_python_to_write(api, ctx, written, python):
    response = upload(api, {"testi.bpmn": condition(written)})
    assert_rejected(response, "JUEL (Camunda 7)", f"write '{python}'", element="f_ehto")


@pytest.mark.parametrize(("written", "python"), [("= approved", "approved"), ("= pisteet = 3", "pisteet == 3")])
def test_a_camunda_8_feel_condition_is_refused_with_the_python_to_write(api, ctx, written, python):
    response = upload(api, {"testi.bpmn": condition(written)})
    assert_rejected(response, "FEEL (Camunda 8)", f"write '{python}'", element="f_ehto")


def test_a_call_activity_that_names_no_process_says_so_and_lists_those_it_may_call(api, ctx):
    bpmn = process_bpmn(extra='<bpmn:callActivity id="kutsu"/>')
    response = upload(api, {"testi.bpmn": bpmn.encode()})
    assert_rejected(response, "calls no process", "calledElement", "(testi)", element="kutsu")
    assert "'None'" not in str(response.json)


def test_an_empty_timer_date_asks_for_an_expression_with_an_example(api, ctx):
    bpmn = process_bpmn(timer="", timer_kind="timeDate")
    response = upload(api, {"testi.bpmn": bpmn.encode()})
    assert_rejected(response, "the timer's date is empty", "2026-12-01T09:00:00+02:00", element="muistutus")


def test_a_process_without_is_executable_is_the_pathway_as_spiffworkflow_runs_it(api, ctx):
    bpmn = process_bpmn().replace(' isExecutable="true"', "")
    assert 'isExecutable' not in bpmn
    assert upload(api, {"testi.bpmn": bpmn.encode()}).status_code == 201
    started = api.start("testi")
    assert [t["spec"] for t in started["tasks"]] == ["tehtava"], "it runs"
    marked_not = bpmn.replace('<bpmn:process id="testi"', '<bpmn:process id="testi" isExecutable="false"')
    refused = upload(api, {"muu.bpmn": marked_not.encode()}, key="muu")
    assert refused.status_code == 422 and "no executable process" in str(refused.json), "false stays false"


def _with(bpmn: str, old: str, new: str) -> str:
    assert old in bpmn, old
    return bpmn.replace(old, new)


def test_a_task_with_two_outgoing_flows_is_told_to_add_a_gateway_on_its_line(api, ctx):
    bpmn = _with(process_bpmn(), '<bpmn:sequenceFlow id="f2" sourceRef="tehtava" targetRef="valinta"/>',
                 '<bpmn:sequenceFlow id="f2" sourceRef="tehtava" targetRef="valinta"/>\n'
                 '<bpmn:sequenceFlow id="f3" sourceRef="tehtava" targetRef="loppu_b"/>')
    response = upload(api, {"testi.bpmn": bpmn.encode()})
    assert_rejected(response, "2 outgoing flows (f2, f3)", "parallel gateway", element="tehtava")
    [problem] = response.json["errors"]
    task_line = bpmn.splitlines().index('  <bpmn:userTask id="tehtava" name="Tehtävä"></bpmn:userTask>') + 1
    assert problem["line"] == task_line


def test_spiffworkflows_own_refusal_carries_the_line_of_its_element(api, ctx):
    bpmn = _with(process_bpmn(), '<bpmn:userTask id="tehtava" name="Tehtävä"></bpmn:userTask>',
                 '<bpmn:userTask id="tehtava" name="Tehtävä">\n<bpmn:standardLoopCharacteristics/>\n</bpmn:userTask>')
    response = upload(api, {"testi.bpmn": bpmn.encode()})
    assert_rejected(response, "loopMaximum or loopCondition", element="tehtava")
    assert response.json["errors"][0]["line"] == 5


def test_spiffworkflows_sentence_that_stops_short_is_finished_with_the_element_type():
    from lxml import etree
    from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

    from orchestrator.engine.compile import _spiff_problem
    tree = etree.fromstring(process_bpmn().encode())
    node = tree.find(".//{*}userTask")
    exc = ValidationException("Multiple outgoing flows are not supported for tasks of type", node, "testi.bpmn")
    problem = _spiff_problem(exc, {"testi.bpmn": tree})
    assert problem.reason == "Multiple outgoing flows are not supported for tasks of type bpmn:userTask"
    assert (problem.element, problem.line) == ("tehtava", node.sourceline)


LANES = ('<bpmn:laneSet id="Pool 2_laneSet"><bpmn:lane id="hoitaja" name="Hoitaja">'
         '<bpmn:flowNodeRef>tehtava</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>')


@pytest.mark.parametrize(("old", "new", "said", "element"), [
    ('<bpmn:startEvent id="alku"/>', '<bpmn:startEvent id="alku"/>' + LANES,
     "the id 'Pool 2_laneSet' is not a valid XML id", "Pool 2_laneSet"),
    ('id="loppu_b"', 'id="loppu_a"', "the id 'loppu_a' is used by another element too", "loppu_a"),
    ('<bpmn:endEvent id="loppu_a"/>', '<bpmn:endEvent id="loppu_a" kukka="1"/>',
     "bpmn:endEvent has an attribute 'kukka' that BPMN does not define", "loppu_a"),
    ('isExecutable="true"', 'isExecutable="kyllä"', "isExecutable must be true or false, not 'kyllä'", "testi"),
    ('<bpmn:userTask id="tehtava" name="Tehtävä"></bpmn:userTask>',
     '<bpmn:userTask id="tehtava" name="Tehtävä"><bpmn:outgoing>f2</bpmn:outgoing>'
     '<bpmn:incoming>f1</bpmn:incoming></bpmn:userTask>',
     "bpmn:incoming is not allowed at this place", "tehtava"),
])
def test_schema_errors_are_said_as_what_to_mend_without_namespaces(api, ctx, old, new, said, element):
    response = upload(api, {"testi.bpmn": _with(process_bpmn(), old, new).encode()})
    assert_rejected(response, said, element=element)
    assert "{http" not in str(response.json) and "xs:" not in str(response.json)
    assert all(problem["line"] for problem in response.json["errors"])


def test_an_invalid_id_is_shown_how_it_would_be_valid():
    from orchestrator.engine.schema_errors import say
    raw = ("Element '{http://www.omg.org/spec/BPMN/20100524/MODEL}laneSet', attribute 'id': 'Pool 2_laneSet' is not "
           "a valid value of the atomic type 'xs:ID'.")
    assert say(raw).endswith("e.g. 'Pool_2_laneSet'")
    assert say("Element '{http://www.omg.org/spec/BPMN/20100524/MODEL}sequenceFlow': The attribute 'targetRef' is "
               "required but missing.") == "bpmn:sequenceFlow needs the attribute targetRef"


DMN = (Path(__file__).parents[1] / "bpmn" / "esitieto" / "kiireellisyys.dmn").read_bytes()


def _decision(attributes: str) -> str:
    """start → business rule task → a gateway on its output → "kiire" or "tavallinen"."""
    return HEAD + f"""<bpmn:process id="testi" isExecutable="true">
  <bpmn:startEvent id="alku"/>
  <bpmn:businessRuleTask id="arvio" {attributes}/>
  <bpmn:exclusiveGateway id="valinta" default="f_tavallinen"/>
  <bpmn:userTask id="kiire" name="Kiireellinen"/>
  <bpmn:userTask id="tavallinen" name="Tavallinen"/>
  <bpmn:endEvent id="loppu_a"/><bpmn:endEvent id="loppu_b"/>
  <bpmn:sequenceFlow id="f1" sourceRef="alku" targetRef="arvio"/>
  <bpmn:sequenceFlow id="f2" sourceRef="arvio" targetRef="valinta"/>
  <bpmn:sequenceFlow id="f_kiire" sourceRef="valinta" targetRef="kiire">
    <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">kiireellisyys == "kiireellinen"
    </bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="f_tavallinen" sourceRef="valinta" targetRef="tavallinen"/>
  <bpmn:sequenceFlow id="f3" sourceRef="kiire" targetRef="loppu_a"/>
  <bpmn:sequenceFlow id="f4" sourceRef="tavallinen" targetRef="loppu_b"/>
</bpmn:process>""" + TAIL


def test_a_camunda_business_rule_task_runs_its_decision_ref(api, ctx):
    response = upload(api, {"testi.bpmn": _decision('camunda:decisionRef="kiireellisyys"').encode(),
                            "kiireellisyys.dmn": DMN})
    assert response.status_code == 201, response.json
    assert [t["spec"] for t in api.start("testi", variables={"kipu": 8})["tasks"]] == ["kiire"]
    assert [t["spec"] for t in api.start("testi", variables={"kipu": 2})["tasks"]] == ["tavallinen"]


def test_a_business_rule_task_without_a_decision_is_told_both_ways_to_name_one(api, ctx):
    response = upload(api, {"testi.bpmn": _decision("").encode(), "kiireellisyys.dmn": DMN})
    assert_rejected(response, "spiffworkflow:calledDecisionId", "camunda:decisionRef", "(kiireellisyys)",
                    element="arvio")


def test_a_camunda_result_variable_is_refused_with_how_outputs_arrive(api, ctx):
    bpmn = _decision('camunda:decisionRef="kiireellisyys" camunda:resultVariable="tulos"')
    response = upload(api, {"testi.bpmn": bpmn.encode(), "kiireellisyys.dmn": DMN})
    assert_rejected(response, "camunda:resultVariable", "by their own names", element="arvio")


CORRELATION = """<bpmn:correlationProperty id="asiakas" name="asiakas">
  <bpmn:correlationPropertyRetrievalExpression messageRef="tulos">
    <bpmn:formalExpression>asiakas_id</bpmn:formalExpression>
  </bpmn:correlationPropertyRetrievalExpression>
</bpmn:correlationProperty>
<bpmn:message id="tulos" name="tulos"/>
"""


def test_message_correlation_as_bpmn_js_writes_it_deploys(api, ctx):
    bpmn = process_bpmn().replace("<bpmn:process ", CORRELATION + "<bpmn:process ", 1)
    response = upload(api, {"testi.bpmn": bpmn.encode()})
    assert response.status_code == 201, response.json


def _message_start(definition: str, extra: str = "") -> bytes:
    return (HEAD + extra + f"""<bpmn:process id="viesti" isExecutable="true">
  <bpmn:startEvent id="alku">{definition}</bpmn:startEvent>
  <bpmn:endEvent id="loppu"/><bpmn:sequenceFlow id="f" sourceRef="alku" targetRef="loppu"/>
</bpmn:process>""" + TAIL).encode()


@pytest.mark.parametrize(("definition", "extra", "said"), [
    ('<bpmn:messageEventDefinition id="m" messageRef="puuttuu"/>', "",
     "waits for message 'puuttuu', which the package does not define (it defines none: add a bpmn:message)"),
    ('<bpmn:messageEventDefinition id="m"/>', '<bpmn:message id="tulos" name="tulos"/>',
     "waits for a message but names none: set its message (messageRef) to one the package defines (tulos)"),
    ('<bpmn:signalEventDefinition id="s" signalRef="hälytys"/>', "",
     "waits for signal 'hälytys', which the package does not define"),
])
def test_a_start_event_waiting_for_what_the_package_does_not_define_is_refused(api, ctx, definition, extra, said):
    response = upload(api, {"viesti.bpmn": _message_start(definition, extra)}, key="viesti")
    assert_rejected(response, said, element="alku")
    assert "TypeError" not in str(response.json)


def test_a_plain_task_is_titled_by_its_name(api, ctx):
    bpmn = _with(process_bpmn(), '<bpmn:userTask id="tehtava" name="Tehtävä"></bpmn:userTask>',
                 '<bpmn:task id="tehtava" name="Soita asiakkaalle"></bpmn:task>')
    assert upload(api, {"testi.bpmn": bpmn.encode()}).status_code == 201
    [task] = api.start("testi")["tasks"]
    assert (task["spec"], task["title"]) == ("tehtava", "Soita asiakkaalle")


SAMPLES = Path(__file__).parents[1] / "bpmn"
RESAVED = Path(__file__).parent / "fixtures" / "resaved"


@pytest.mark.parametrize("key", ["verenpaine", "painonhallinta"])
def test_a_pathway_saved_again_by_bpmn_js_unchanged_is_the_same_version(api, ctx, key):
    """The re-saved files were written by bpmn-moddle 9 (bpmn-js's XML layer): other attribute order, prefixes'
    declarations, spacing and entities, and default attributes (cancelActivity="true") left out."""
    files = {p.name: p.read_bytes() for p in (SAMPLES / key).iterdir()}
    first = upload(api, files, key=key)
    assert first.json["created"] is True
    resaved = {**files, f"{key}.bpmn": (RESAVED / f"{key}.bpmn").read_bytes()}
    assert resaved[f"{key}.bpmn"] != files[f"{key}.bpmn"]
    again = upload(api, resaved, key=key)
    assert (again.json["created"], again.json["version"]) == (False, 1)
    renamed = resaved[f"{key}.bpmn"].replace(b'name="', b'name="Uusi: ', 1)
    changed = upload(api, {**resaved, f"{key}.bpmn": renamed}, key=key)
    assert (changed.json["created"], changed.json["version"]) == (True, 2)
