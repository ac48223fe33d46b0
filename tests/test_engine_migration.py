"""Moving running instances of the painonhallinta pathway to a newer version (engine only, no database).

The versions are the real package with its BPMN edited here: v2 adds a nurse's call after the mid-point
review and renames the weekly weighing (inside the weekly subprocess); v3 drops the page the instance has
open at week one. The clock is stopped and moved by hand, as the server's timer loop would move it.
"""

import json
from dataclasses import replace
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from SpiffWorkflow.util.task import TaskState

from orchestrator import engine
from orchestrator.clock import CLOCK, now
from orchestrator.engine import runtime
from orchestrator.engine.migration import MigrationRefused, VersionChanges, migrate, migration_plan, version_changes
from orchestrator.tools import deploy

from .conftest import FIXTURES, ROOT
from .fixtures import versions
from .fixtures.builders import chain_bpmn
from .fixtures.versions import renamed, user_task_on, without

PACKAGE = deploy.from_dir(ROOT / "bpmn" / "painonhallinta", ROOT / "forms")
SIMULATION = json.loads((FIXTURES / "simulations" / "painonhallinta.json").read_text(encoding="utf-8"))
START = datetime.fromisoformat(SIMULATION["start"]).replace(tzinfo=ZoneInfo(engine.DEFAULT_ZONE))
DIARY = "ruokapaivakirja"  # left open: its timer closes it at the end of week two
NEW_NAME = "Punnitse itsesi ja kirjaa paino"

pytestmark = pytest.mark.clock(START)


@pytest.fixture(autouse=True)
def calendar(clock):
    """The engine reads the stopped clock (as the app makes it) and runs in the pathway's calendar."""
    engine.use_clock(now)
    with engine.in_zone(None, START):
        yield clock


# Versions -------------------------------------------------------------------------------------------------------


def edited(*edits) -> bytes:
    return versions.edited(PACKAGE.files["painonhallinta.bpmn"], *edits)


def version(bpmn: bytes) -> tuple:
    """Compiled as deploy compiles a package folder: its own forms first, then the shared ones."""
    package = replace(PACKAGE, files={**PACKAGE.files, "painonhallinta.bpmn": bpmn})
    compiled = engine.compile_files(package.files, package.form, package.pages)
    return engine.restore_specs(json.loads(json.dumps(compiled.spec)))


V1 = version(edited())
V2 = version(edited(user_task_on("flow_valiarvio_lue_valiarvio", "soita_asiakkaalle", "Soita asiakkaalle"),
                    renamed("viikkopunnitus", NEW_NAME)))
V3 = version(edited(without("lue_arkiliikunta")))


# Driving an instance --------------------------------------------------------------------------------------------


def open_tasks(workflow) -> dict[str, str]:
    return {v.spec: v.id for v in map(engine.view, workflow.get_tasks(state=TaskState.READY)) if v.human}


def task(workflow, spec: str):
    return workflow.get_task_from_id(UUID(open_tasks(workflow)[spec]))


def answer(spec: str, done: list) -> dict:
    given = SIMULATION["tasks"].get(spec, {})
    return given[sum(s == spec for s, _ in done)] if isinstance(given, list) else given


def answer_open(workflow, done: list) -> None:
    """Answer every open task but the diary, as client and nurse would; note (element, name) of each."""
    while todo := [s for s in open_tasks(workflow) if s != DIARY]:
        data = answer(todo[0], done)
        done.append((todo[0], task(workflow, todo[0]).task_spec.bpmn_name))
        runtime.complete(workflow, open_tasks(workflow)[todo[0]], data)


def on_day(workflow, day: int, done: list | None = None) -> None:
    """Move the clock to 11:00 on the pathway's day ``day`` and fire the timers; answer what opens if asked."""
    CLOCK.set(START + timedelta(days=day, hours=2))
    runtime.fire_timers(workflow)
    if done is not None:
        answer_open(workflow, done)


def run_to_end(workflow, first_day: int, done: list) -> int:
    """Day by day until the pathway ends; the day it ended."""
    for day in range(first_day, 100):
        on_day(workflow, day, done)
        if runtime.is_completed(workflow):
            return day
    raise AssertionError(f"still running after 100 days, open: {sorted(open_tasks(workflow))}")


def at_week_one():
    """The start survey and the first page done; a week on, the week's weighing and the exercise page open."""
    workflow = runtime.start(V1, engine.script_engine(), {"ruokapaivakirja": True, "liikuntapaivakirja": False})
    runtime.advance(workflow)
    answer_open(workflow, [])
    on_day(workflow, 7)
    assert set(open_tasks(workflow)) == {"lue_arkiliikunta", "viikkopunnitus", DIARY}
    return workflow


def stored(workflow) -> tuple:
    """The workflow as the database would hold it."""
    changes, _, _ = engine.codec().changes(workflow, engine.Snapshot())
    return json.dumps(changes.head, sort_keys=True), sorted(changes.upserts)


# Tests ----------------------------------------------------------------------------------------------------------


def test_version_changes_name_the_added_and_the_renamed_task_and_nothing_else():
    changes = version_changes(V1, V2)
    assert changes.added == ["soita_asiakkaalle"]
    assert changes.changed == ["viikkopunnitus"]  # inside the weekly subprocess
    assert changes.removed == [] and changes.alignment == {}
    assert changes.rewired == ["lue_valiarvio", "valiarvio"]  # the call sits between them now
    assert version_changes(V1, V1) == version_changes(V2, V2) == VersionChanges([], [], [], [], {})
    removed = version_changes(V1, V3)
    assert (removed.added, removed.removed, removed.changed) == ([], ["lue_arkiliikunta"], [])


def test_an_element_given_a_new_id_is_aligned_by_its_place_in_the_flow():
    source = edited().decode().replace("lue_arkiliikunta", "lue_liikunta")
    changes = version_changes(V1, version(source.encode()))
    assert changes.alignment == {"lue_arkiliikunta": "lue_liikunta"}
    assert (changes.added, changes.removed, changes.changed) == ([], [], ["lue_arkiliikunta"])


def test_an_instance_moves_to_the_new_version_and_runs_it_to_the_end():
    workflow = at_week_one()
    before = stored(workflow)
    weighing = open_tasks(workflow)["viikkopunnitus"]

    plan = migration_plan(workflow, V2)
    assert plan.possible and plan.reason is None
    assert {"lue_arkiliikunta", "viikkopunnitus", "viikkojakso", DIARY, "valiarvion_aika"} <= set(plan.moved)
    assert plan.changed == ["viikkopunnitus"]
    assert plan.added == ["soita_asiakkaalle"] and plan.removed_tasks == []
    moved, _ = migrate(workflow, V2)
    assert stored(workflow) == before and workflow.spec is V1[0]  # the instance itself is left as it was

    assert moved.spec is V2[0] and moved.subprocess_specs is V2[1]
    assert open_tasks(moved)["viikkopunnitus"] == weighing  # the open task keeps its id ...
    assert task(moved, "viikkopunnitus").task_spec.bpmn_name == NEW_NAME  # ... and shows its new name
    done = []
    assert 84 <= run_to_end(moved, 7, done) < 91
    names = dict(done)
    order = [spec for spec, _ in done]
    assert order.index("valiarvio") < order.index("soita_asiakkaalle") < order.index("lue_valiarvio")
    assert order.count("viikkopunnitus") == 12 and order.count("soita_asiakkaalle") == 1
    assert {name for spec, name in done if spec == "viikkopunnitus"} == {NEW_NAME} == {names["viikkopunnitus"]}
    finished = {t.task_spec.bpmn_id for _, t in engine.state.scoped_tasks(moved) if t.state == TaskState.COMPLETED}
    assert {"ruokapaivakirja_paattyy", "loppukysely", "loppu"} <= finished  # the diary was closed by its timer


def test_the_moved_instance_keeps_its_data_and_survives_a_restore():
    workflow = at_week_one()
    live = {t.id: json.dumps(t.data, sort_keys=True) for _, t in engine.state.scoped_tasks(workflow)
            if t.state & engine.state.LIVE}
    moved, _ = migrate(workflow, V2)
    assert {i: json.dumps(moved.get_task_from_id(i).data, sort_keys=True) for i in live} == live
    assert moved.data == workflow.data
    weighing = task(moved, "viikkopunnitus").data
    assert (weighing["viikko"], weighing["paino"], weighing["ruokapaivakirja"]) == (1, 92.4, True)
    (review,) = moved.get_tasks(state=TaskState.WAITING, spec_name="valiarvion_aika")
    assert review.data["painoindeksi"] == 32.7  # from the branch's own script, before the move

    changes, _, _ = engine.codec().changes(moved, engine.Snapshot())
    restored = engine.codec().load(V2, json.loads(json.dumps(changes.head)), changes.upserts, engine.script_engine())
    assert engine.compare(moved, restored) is None
    full = engine.serializer().deserialize_json(engine.serializer().serialize_json(moved))
    assert engine.compare(moved, full) is None

    done = []
    answer_open(restored, done)
    on_day(restored, 14, done)  # the second week runs in a subprocess started from the new version
    assert [name for spec, name in done if spec == "viikkopunnitus"] == [NEW_NAME, NEW_NAME]
    assert task(restored, DIARY).data["paino"] == 92.4


def test_removing_the_task_the_instance_stands_on_is_refused_and_changes_nothing():
    workflow = at_week_one()
    before = stored(workflow)
    plan = migration_plan(workflow, V3)
    assert not plan.possible
    assert plan.reason == "task 'lue_arkiliikunta' where the instance stands is not in the new version"
    assert plan.removed_tasks == ["lue_arkiliikunta"] and plan.added == []
    with pytest.raises(MigrationRefused) as refused:
        migrate(workflow, V3)
    assert refused.value.reason == plan.reason == str(refused.value)
    assert stored(workflow) == before and workflow.spec is V1[0]
    done = []
    answer_open(workflow, done)  # and it goes on in its own version
    assert {spec for spec, _ in done} == {"lue_arkiliikunta", "viikkopunnitus"}


def test_an_instance_that_has_not_reached_the_removed_task_moves_and_skips_it():
    workflow = runtime.start(V1, engine.script_engine(), {"ruokapaivakirja": False, "liikuntapaivakirja": False})
    runtime.advance(workflow)
    answer_open(workflow, [])
    plan = migration_plan(workflow, V3)
    assert plan.possible and plan.removed_tasks == ["lue_arkiliikunta"]  # only predicted: dropped
    moved, _ = migrate(workflow, V3)
    done = []
    for day in range(1, 23):
        on_day(moved, day, done)
    assert "lue_muutos_pysyvaksi" in dict(done) and "lue_arkiliikunta" not in dict(done)


def test_removing_a_task_the_instance_has_passed_is_refused():
    """SpiffWorkflow keeps finished tasks; one whose element is gone could not be restored from stored state."""
    workflow = at_week_one()
    plan = migration_plan(workflow, version(edited(without("lue_ruokavalio"))))
    assert not plan.possible and plan.reason.startswith("task 'lue_ruokavalio', which the instance has passed,")


def test_a_reminder_keeps_its_due_time():
    """SpiffWorkflow resets waiting timers; a duration would count again from the move without our help."""
    workflow = runtime.start(V1, engine.script_engine(), {})
    runtime.advance(workflow)

    def reminder(wf):
        (due,) = [v.timer_due for v in map(engine.view, wf.get_tasks(state=TaskState.WAITING)) if v.timer_due]
        return due

    due = reminder(workflow)
    on_day(workflow, 1)
    assert reminder(migrate(workflow, V2)[0]) == due == START + timedelta(days=2)


def test_a_task_added_after_the_running_week_is_reached():
    """SpiffWorkflow does not predict anew after a running subprocess; without that the call would be skipped."""
    workflow = at_week_one()
    v4 = version(edited(user_task_on("flow_viikkojakso_jatkuuko", "viikon_kooste", "Viikon kooste")))
    moved, _ = migrate(workflow, v4)
    done = []
    for day in range(7, 15):
        on_day(moved, day, done)
    assert [spec for spec, _ in done if spec in ("viikkopunnitus", "viikon_kooste")] == \
        ["viikkopunnitus", "viikon_kooste", "viikkopunnitus"]


def test_a_pathway_longer_than_spiffworkflows_tree_walk_moves_whole():
    """SpiffWorkflow's diff and migrate look tasks up through the workflow, whose own walk stops at depth
    1000; ours scans the task table, so the tasks past that depth move too."""
    def chain(name: str) -> tuple:
        compiled = engine.compile_files({"ketju.bpmn": chain_bpmn(1010).replace(
            'name="Tehtävä 1008"', f'name="{name}"').encode()}, lambda _: None)
        return engine.restore_specs(json.loads(json.dumps(compiled.spec)))

    workflow = runtime.start(chain("Tehtävä 1008"), engine.script_engine())
    runtime.advance(workflow)
    for _ in range(1005):
        (task_id,) = open_tasks(workflow).values()
        runtime.complete(workflow, task_id, {})
    plan = migration_plan(workflow, chain("Uusi nimi"))
    assert plan.possible, plan.reason
    assert (plan.moved, plan.changed) == (["t1006"], [])
    moved, _ = migrate(workflow, chain("Uusi nimi"))
    assert moved.spec.task_specs["t1008"].bpmn_name == "Uusi nimi"
    for _ in range(2):
        (task_id,) = open_tasks(moved).values()
        runtime.complete(moved, task_id, {})
    assert moved.get_task_from_id(UUID(next(iter(open_tasks(moved).values())))).task_spec.bpmn_name == "Uusi nimi"
