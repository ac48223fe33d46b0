"""Files as other modellers write them: each refused with the rewrite to make, or taken as SpiffWorkflow takes it."""

import pytest

from .fixtures.builders import process_bpmn
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
