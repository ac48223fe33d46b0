"""Engine facade: every scenario restores the workflow from stored state after every step."""

from uuid import UUID

import pytest
from SpiffWorkflow.util.task import TaskState

from orchestrator import engine
from orchestrator.engine import runtime

from .conftest import ANSWERS, ROOT
from .engine_runner import EngineRun, package_files
from .fixtures.builders import chain_bpmn, process_bpmn

SAMPLE = ROOT / "bpmn" / "esitieto"


@pytest.mark.parametrize("reload_every", [1, 2, 3])
def test_sample_pathway_with_lab_results(reload_every):
    run = EngineRun(package_files(SAMPLE), reload_every=reload_every)
    assert set(run.ready()) == {"esitietolomake"}
    run.complete("esitietolomake", ANSWERS["esitietolomake"])
    assert set(run.ready()) == {"hoitajan_arvio"}
    run.complete("hoitajan_arvio", ANSWERS["hoitajan_arvio_lab"])
    assert run.ready() == {}
    assert runtime.waiting_messages(run.workflow) == {"lab_result_ready"}
    run.step(runtime.deliver_message, "lab_result_ready", {"hb": 141})
    assert set(run.ready()) == {"tulosten_arvio"}
    task = run.workflow.get_task_from_id(UUID(run.ready()["tulosten_arvio"]))
    assert task.data["laboratoriotulos"] == {"hb": 141}
    assert task.data["kiireellisyys"] == "kiireellinen"  # from the DMN table, kipu 8
    run.complete("tulosten_arvio", ANSWERS["tulosten_arvio"])
    run.complete("asiakas_kuittaa", ANSWERS["asiakas_kuittaa"])
    assert runtime.is_completed(run.workflow)
    assert run.restores == 6 // reload_every  # of six steps: start, four completions, one message


def test_sample_pathway_without_lab_and_low_pain():
    run = EngineRun(package_files(SAMPLE))
    run.complete("esitietolomake", {**ANSWERS["esitietolomake"], "kipu": 2})
    run.complete("hoitajan_arvio", ANSWERS["hoitajan_arvio"])
    assert set(run.ready()) == {"asiakas_kuittaa"}
    task = run.workflow.get_task_from_id(UUID(run.ready()["asiakas_kuittaa"]))
    assert task.data["kiireellisyys"] == "tavallinen"
    assert runtime.deliver_message(run.workflow, "lab_result_ready", {}) is False
    run.complete("asiakas_kuittaa", ANSWERS["asiakas_kuittaa"])
    assert runtime.is_completed(run.workflow)


def test_reminder_timer_is_a_waiting_task_with_a_utc_due_time():
    run = EngineRun(package_files(SAMPLE))
    timers = [engine.view(t) for t in run.workflow.get_tasks(state=TaskState.WAITING)]
    due = [v for v in timers if v.timer_due is not None]
    assert [v.spec for v in due] == ["muistutus_esitiedot"]
    assert due[0].timer_due.utcoffset().total_seconds() == 0
    run.complete("esitietolomake", ANSWERS["esitietolomake"])
    assert not [t for t in run.workflow.get_tasks(state=TaskState.WAITING) if engine.view(t).timer_due]


def test_elapsed_non_interrupting_timer_fires_and_task_stays_open():
    files = {"p.bpmn": process_bpmn(timer='"PT0S"').encode()}
    run = EngineRun(files, forms=lambda name: None)
    run.step(runtime.fire_timers)
    states = {t.task_spec.bpmn_id: TaskState.get_name(t.state) for t in run.workflow.get_tasks()}
    assert states["muistutus"] == "COMPLETED"
    assert set(run.ready()) == {"tehtava"}


@pytest.mark.parametrize("length", [10, 1200])
def test_long_chains_run_to_the_end(length):
    """SpiffWorkflow's own tree walk stops at depth 1000; pathways can be longer than that."""
    run = EngineRun({"chain.bpmn": chain_bpmn(length).encode()}, forms=lambda name: None)
    for i in range(1, length + 1):
        assert not runtime.is_completed(run.workflow), f"reported completed with task {i} still open"
        (task_id,) = run.ready().values()
        if i % 97 == 0 or i > length - 3:
            run.step(runtime.complete, task_id, {"i": i})
        else:
            runtime.complete(run.workflow, task_id, {"i": i})
    assert runtime.is_completed(run.workflow)


def test_incremental_save_writes_only_changed_tasks():
    run = EngineRun({"chain.bpmn": chain_bpmn(200).encode()}, forms=lambda name: None)
    before = engine.snapshot(run.workflow)
    (task_id,) = run.ready().values()
    runtime.complete(run.workflow, task_id, {"x": 1})
    changes, _, changed = engine.codec().changes(run.workflow, before)
    assert 1 <= len(changes.upserts) <= 4
    assert len(changed) == len(changes.upserts)


def test_a_failing_condition_is_an_incident_naming_the_gateway():
    files = {"p.bpmn": process_bpmn(condition="puuttuva_muuttuja > 3").encode()}
    run = EngineRun(files, forms=lambda name: None)
    with pytest.raises(engine.EngineIncident) as caught:
        runtime.complete(run.workflow, run.ready()["tehtava"], {})
    assert caught.value.element == "valinta"
    assert "puuttuva_muuttuja" in str(caught.value)


def test_completing_a_task_that_is_not_open_is_refused():
    run = EngineRun(package_files(SAMPLE))
    task_id = run.ready()["esitietolomake"]
    run.complete("esitietolomake", ANSWERS["esitietolomake"])
    with pytest.raises(engine.TaskNotOpen):
        runtime.complete(run.workflow, task_id, {})
    with pytest.raises(engine.TaskNotOpen):
        runtime.complete(run.workflow, "not-a-uuid", {})
