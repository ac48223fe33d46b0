"""Instances through the REST API: the sample pathway end to end, history, concurrency, idempotency."""

import threading

import pytest
from sqlalchemy import func, select

from orchestrator.extensions import db
from orchestrator.models import Event, HumanTask, Instance, TaskState, Timer

from .conftest import ANSWERS, Api
from .helpers import upload


def open_task(instance: dict, spec: str) -> dict:
    (task,) = [t for t in instance["tasks"] if t["spec"] == spec]
    return task


def test_sample_pathway_end_to_end_with_history(api, sample):
    instance = api.start(business_key="asiakas-1:esitieto", client_id="010101-123N")
    assert instance["status"] == "running" and instance["version"] == 1
    first = open_task(instance, "esitietolomake")
    assert first["audience"] == "client" and first["role"] == "Asiakas" and first["form"] == "esitiedot.json"
    assert [t["spec"] for t in instance["timers"]] == ["muistutus_esitiedot"]

    done = api.complete(first["id"], ANSWERS["esitietolomake"])
    assert done.status_code == 200, done.json
    assert done.json["timers"] == []  # the reminder went with the completed task
    review = open_task(done.json, "hoitajan_arvio")
    assert review["audience"] == "professional" and "kiireellinen" in review["instructions"]

    instance = api.complete(review["id"], ANSWERS["hoitajan_arvio_lab"]).json
    assert instance["tasks"] == [] and instance["waiting_for"] == ["lab_result_ready"]
    message = api.post("/api/v1/messages", {"name": "lab_result_ready", "business_key": "asiakas-1:esitieto",
                                            "payload": {"hb": 141}})
    assert message.status_code == 200, message.json
    instance = api.complete(open_task(message.json, "tulosten_arvio")["id"], ANSWERS["tulosten_arvio"]).json
    instance = api.complete(open_task(instance, "asiakas_kuittaa")["id"], ANSWERS["asiakas_kuittaa"]).json
    assert instance["status"] == "completed" and instance["ended_at"] and instance["waiting_for"] == []

    instance = api.get(f"/api/v1/instances/{instance['id']}").json
    kinds = [e["kind"] for e in instance["history"]]
    assert kinds == ["started", "task_completed", "task_completed", "message_delivered", "task_completed",
                     "task_completed"]
    assert instance["history"][1]["data"] == {"answers": ANSWERS["esitietolomake"]}
    assert all(e["actor"] == "tester" for e in instance["history"])
    completed = api.get(f"/api/v1/tasks?instance={instance['id']}&state=completed").json
    assert {t["spec"] for t in completed} == {"esitietolomake", "hoitajan_arvio", "tulosten_arvio", "asiakas_kuittaa"}
    assert all(t["completed_by"] == "tester" for t in completed)


def test_state_is_stored_without_the_spec_and_reloads(api, app, sample, ctx):
    instance = api.start()
    stored = db.session.get(Instance, instance["id"])
    assert "spec" not in stored.head and stored.serializer_version == "1.5"
    rows = db.session.scalar(select(func.count()).select_from(TaskState).where(TaskState.instance_id == stored.id))
    assert rows > 5
    app.extensions["polku_store"].workflows.items.clear()  # as after a restart
    task = open_task(instance, "esitietolomake")
    assert api.complete(task["id"], ANSWERS["esitietolomake"]).status_code == 200


def test_invalid_answers_list_each_field_and_change_nothing(api, sample):
    instance = api.start()
    task = open_task(instance, "esitietolomake")
    response = api.complete(task["id"], {"oireet": "", "kipu": 11, "ylimaarainen": 1})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json["errors"]}
    assert {"/oireet", "/kipu", "/kesto_paivia"} <= fields
    assert api.complete(task["id"], "ei objekti").status_code == 422
    after = api.get(f"/api/v1/instances/{instance['id']}").json
    assert [e["kind"] for e in after["history"]] == ["started"]
    assert open_task(after, "esitietolomake")["state"] == "open"


def test_completing_a_closed_task_is_409(api, sample):
    task = open_task(api.start(), "esitietolomake")
    assert api.complete(task["id"], ANSWERS["esitietolomake"]).status_code == 200
    again = api.complete(task["id"], ANSWERS["esitietolomake"])
    assert again.status_code == 409 and "completed" in again.json["message"]
    assert api.complete("00000000-0000-0000-0000-000000000000", {}).status_code == 404


def test_idempotency_key_completes_once(api, sample, ctx):
    task = open_task(api.start(), "esitietolomake")
    headers = {"Idempotency-Key": "lomake-1"}
    first = api.complete(task["id"], ANSWERS["esitietolomake"], headers=headers)
    second = api.complete(task["id"], ANSWERS["esitietolomake"], headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.json == first.json
    assert db.session.scalar(select(func.count()).select_from(Event).where(Event.kind == "task_completed")) == 1
    other = open_task(first.json, "hoitajan_arvio")
    reused = api.complete(other["id"], ANSWERS["hoitajan_arvio"], headers=headers)
    assert reused.status_code == 409


def test_concurrent_completions_of_one_task_one_wins(app, sample):
    instance = Api(app.test_client()).start()
    task = open_task(instance, "esitietolomake")
    barrier, results = threading.Barrier(2), []

    def worker(name):
        client = Api(app.test_client(), actor=name)
        barrier.wait()
        results.append(client.complete(task["id"], ANSWERS["esitietolomake"]).status_code)

    threads = [threading.Thread(target=worker, args=(f"hoitaja{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event).where(Event.kind == "task_completed")) == 1
        stored = db.session.get(Instance, instance["id"])
        assert stored.lock_version == 3  # one UPDATE by the start, one by the single completion
        open_now = db.session.scalars(select(HumanTask.spec).where(HumanTask.state == "open")).all()
        assert open_now == ["hoitajan_arvio"]


def test_messages_by_id_and_business_key(api, sample):
    a = api.start(business_key="asiakas-2")
    b = api.start(business_key="asiakas-2")
    lab = {"name": "lab_result_ready", "payload": {"hb": 120}}
    assert api.post("/api/v1/messages", {**lab, "instance_id": a["id"]}).status_code == 409  # not waiting yet
    for inst in (a, b):
        inst = api.complete(open_task(inst, "esitietolomake")["id"], ANSWERS["esitietolomake"]).json
        api.complete(open_task(inst, "hoitajan_arvio")["id"], ANSWERS["hoitajan_arvio_lab"])
    ambiguous = api.post("/api/v1/messages", {**lab, "business_key": "asiakas-2"})
    assert ambiguous.status_code == 409 and "2 running instances" in ambiguous.json["message"]
    assert api.post("/api/v1/messages", {**lab, "business_key": "tuntematon"}).status_code == 404
    assert api.post("/api/v1/messages", {**lab, "instance_id": 999999}).status_code == 404
    assert api.post("/api/v1/messages", {"name": "x", "payload": {}}).status_code == 422
    delivered = api.post("/api/v1/messages", {**lab, "instance_id": a["id"]})
    assert delivered.status_code == 200
    assert [t["spec"] for t in delivered.json["tasks"]] == ["tulosten_arvio"]
    unknown = api.post("/api/v1/messages", {"name": "ei_tallainen", "instance_id": b["id"], "payload": {}})
    assert unknown.status_code == 409 and "not waiting for message 'ei_tallainen'" in unknown.json["message"]


def test_cancel_closes_tasks_and_timers(api, sample, ctx):
    instance = api.start()
    cancelled = api.post(f"/api/v1/instances/{instance['id']}/cancel", {"reason": "asiakas muutti"})
    assert cancelled.status_code == 200
    assert cancelled.json["status"] == "cancelled" and cancelled.json["tasks"] == [] and cancelled.json["timers"] == []
    history = api.get(f"/api/v1/instances/{instance['id']}").json["history"]
    assert history[-1]["data"] == {"reason": "asiakas muutti"} and history[-1]["kind"] == "cancelled"
    assert db.session.scalar(select(func.count()).select_from(Timer)) == 0
    task = db.session.get(HumanTask, instance["tasks"][0]["id"])
    assert task.state == "cancelled"
    assert api.post(f"/api/v1/instances/{instance['id']}/cancel", {}).status_code == 409
    assert api.post("/api/v1/instances/424242/cancel", {}).status_code == 404


def test_inbox_filters_and_claims(api, sample):
    for n in range(3):
        inst = api.start(client_id=f"asiakas{n}")
        api.complete(open_task(inst, "esitietolomake")["id"], ANSWERS["esitietolomake"])
    nurse = api.get("/api/v1/tasks?role=Hoitaja").json
    assert len(nurse) == 3 and {t["spec"] for t in nurse} == {"hoitajan_arvio"}
    assert api.get("/api/v1/tasks?audience=client").json == []
    assert len(api.get("/api/v1/tasks?pathway=esitieto&audience=professional").json) == 3
    assert api.get("/api/v1/tasks?due_before=2000-01-01T00:00:00Z").json == []
    assert len(api.get("/api/v1/tasks?due_before=2100-01-01T00:00:00Z").json) == 3
    dues = [t["due_at"] for t in nurse]
    assert dues == sorted(dues)
    claimed = api.post(f"/api/v1/tasks/{nurse[0]['id']}/claim", {})
    assert claimed.status_code == 200 and claimed.json["assignee"] == "tester"
    assert [t["id"] for t in api.get("/api/v1/tasks?assignee=tester").json] == [nurse[0]["id"]]
    other = api.post(f"/api/v1/tasks/{nurse[0]['id']}/claim", {"assignee": "toinen"})
    assert other.status_code == 409
    assert api.post(f"/api/v1/tasks/{nurse[0]['id']}/release").json["assignee"] is None
    detail = api.get(f"/api/v1/tasks/{nurse[0]['id']}").json
    assert detail["form_schema"]["required"] == ["laboratorio", "viesti_asiakkaalle"]
    assert detail["ui_schema"]["viesti_asiakkaalle"]["ui:widget"] == "textarea"


def test_start_errors(api, sample):
    assert api.post("/api/v1/instances", {"pathway": "ei-ole"}).status_code == 404
    assert api.post("/api/v1/instances", {"pathway": "esitieto", "version": 9}).status_code == 404
    assert api.post("/api/v1/instances", {}).status_code == 422
    assert api.get("/api/v1/instances/12345").status_code == 404
    listed = api.get("/api/v1/instances?pathway=esitieto&status=running").json
    assert listed == []


def test_nul_characters_are_refused_naming_where(api, sample):
    response = api.post("/api/v1/instances", {"pathway": "esitieto", "variables": {"a": ["ok", "x\x00"]}})
    assert response.status_code == 400 and "/variables/a/1" in response.json["message"]
    assert api.get("/api/v1/tasks?role=a%00b").status_code == 400
    assert api.get("/api/v1/tasks/abc%00").status_code == 400


def test_bad_timer_value_in_a_variable_is_an_incident_naming_the_timer(api):
    from .fixtures.builders import process_bpmn

    assert upload(api, {"a.bpmn": process_bpmn(timer="muistutusvali").encode()}, key="ajastin").status_code == 201
    bad = api.post("/api/v1/instances", {"pathway": "ajastin", "variables": {"muistutusvali": "huomenna"}})
    assert bad.status_code == 201
    assert bad.json["status"] == "incident" and bad.json["incident"].startswith("muistutus:")
    history = api.get(f"/api/v1/instances/{bad.json['id']}").json["history"]
    assert history[0]["data"]["incident"]["element"] == "muistutus"
    good = api.start("ajastin", variables={"muistutusvali": "P2D"})
    assert good["status"] == "running" and [t["spec"] for t in good["timers"]] == ["muistutus"]


def test_a_task_without_a_form_takes_no_answers(api):
    from .fixtures.builders import process_bpmn

    assert upload(api, {"a.bpmn": process_bpmn().encode()}, key="ilman-lomaketta").status_code == 201
    task = api.start("ilman-lomaketta")["tasks"][0]
    refused = api.complete(task["id"], {"hoitaja_hyvaksynyt": True})
    assert refused.status_code == 422
    assert refused.json["errors"] == [{"field": "/", "message": "this task has no form and takes no answers"}]
    assert api.complete(task["id"], {}).status_code == 200


@pytest.mark.parametrize("body", ['{"data": {"paino_kg": NaN}}', '{"data": {"x": Infinity}}',
                                  '{"data": ' * 40 + "{}" + "}" * 40])
def test_numbers_json_lacks_and_deep_nesting_are_refused(api, sample, body):
    task = api.start()["tasks"][0]
    response = api.post(f"/api/v1/tasks/{task['id']}/complete", data=body, content_type="application/json")
    assert response.status_code == 400, response.json
