"""Stored state restores exactly, also after several steps served from the in-process cache."""

import pytest

from .fixtures.builders import HEAD, TAIL
from .helpers import upload


def chain(pid: str, *nodes: str) -> str:
    """A process of the given nodes in a row, between a start and an end event."""
    ids = ["alku"] + [n.split('id="')[1].split('"')[0] for n in nodes] + ["loppu"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
                    for i, (a, b) in enumerate(zip(ids, ids[1:], strict=False)))
    return (HEAD + f'<bpmn:process id="{pid}" isExecutable="true"><bpmn:startEvent id="alku"/>' + "".join(nodes)
            + f'<bpmn:endEvent id="loppu"/>{flows}</bpmn:process>' + TAIL)


FREE_FORM = {"vapaa.json": b'{"type": "object"}'}


def user(task_id: str, instructions: str = "") -> str:
    """A user task with a form that takes any answers, and optional instructions."""
    text = (f"<spiffworkflow:instructionsForEndUser>{instructions}</spiffworkflow:instructionsForEndUser>"
            if instructions else "")
    return (f'<bpmn:userTask id="{task_id}"><bpmn:extensionElements><spiffworkflow:properties>'
            '<spiffworkflow:property name="formJsonSchemaFilename" value="vapaa.json"/></spiffworkflow:properties>'
            f"{text}</bpmn:extensionElements></bpmn:userTask>")


def script(task_id: str, code: str) -> str:
    return f'<bpmn:scriptTask id="{task_id}"><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>'


def restart(app):
    app.extensions["polku_store"].workflows.items.clear()


@pytest.mark.parametrize("restarted", [False, True])
def test_changed_list_answers_restore_without_stale_values(api, app, restarted):
    bpmn = chain("lista", user("v1"), user("v2"), user("v3"), user("v4", "valinnat = {{ valinnat }}"))
    assert upload(api, {"lista.bpmn": bpmn.encode(), **FREE_FORM}, key="lista").status_code == 201
    state = api.start("lista")
    for answers in ({"valinnat": ["a", "b"], "yhteys": {"puh": "040", "email": "a@b"}},
                    {"valinnat": ["c"], "yhteys": {"email": "c@d"}}):
        state = api.complete(state["tasks"][0]["id"], answers).json
    if restarted:
        restart(app)
    state = api.complete(state["tasks"][0]["id"], {}).json
    # Instructions are Markdown: a value shows as the text it is, its brackets escaped.
    assert state["tasks"][0]["instructions"] == "valinnat = \\['c'\\]"


@pytest.mark.parametrize("restarted", [False, True])
def test_a_script_changing_a_nested_value_survives_a_restart(api, app, restarted):
    bpmn = chain("sisakkain", user("u1"), user("u2"), script("muutos", 'a["b"]["c"] = 2'), user("u3"),
                 user("u4", "c = {{ a.b.c }}"))
    assert upload(api, {"s.bpmn": bpmn.encode(), **FREE_FORM}, key="sisakkain").status_code == 201
    state = api.start("sisakkain")
    state = api.complete(state["tasks"][0]["id"], {"a": {"b": {"c": 1}}}).json
    state = api.complete(state["tasks"][0]["id"], {}).json
    if restarted:
        restart(app)
    state = api.complete(state["tasks"][0]["id"], {}).json
    assert state["tasks"][0]["instructions"] == "c = 2"


def test_instructions_that_fail_to_render_show_as_written(api):
    bpmn = chain("jako", user("u1"), user("u2", "Tulos: {{ 100 // kipu }}"))
    assert upload(api, {"j.bpmn": bpmn.encode(), **FREE_FORM}, key="jako").status_code == 201
    state = api.start("jako")
    state = api.complete(state["tasks"][0]["id"], {"kipu": 0})
    assert state.status_code == 200
    assert state.json["tasks"][0]["instructions"] == "Tulos: {{ 100 // kipu }}"


def test_a_step_that_fails_after_the_engine_ran_leaves_nothing_behind(api, app, monkeypatch):
    """The workflow a failed step changed in memory must not serve the next step."""
    from orchestrator.core import steps

    bpmn = chain("kesken", user("u1"), user("u2"))
    assert upload(api, {"k.bpmn": bpmn.encode(), **FREE_FORM}, key="kesken").status_code == 201
    first = api.start("kesken")["tasks"][0]
    real_insert = steps.insert_rows

    def failing_insert(model, rows):
        raise RuntimeError("the event could not be written")

    monkeypatch.setattr(steps, "insert_rows", failing_insert)
    with pytest.raises(RuntimeError, match="could not be written"):
        api.complete(first["id"], {"a": 1})
    monkeypatch.setattr(steps, "insert_rows", real_insert)

    detail = api.get(f"/api/v1/instances/{api.get('/api/v1/tasks/' + first['id']).json['instance_id']}").json
    assert [t["spec"] for t in detail["tasks"]] == ["u1"] and [e["kind"] for e in detail["history"]] == ["started"]
    done = api.complete(first["id"], {"a": 2})
    assert done.status_code == 200 and [t["spec"] for t in done.json["tasks"]] == ["u2"]
