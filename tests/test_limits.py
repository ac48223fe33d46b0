"""Pathway code runs within limits: time, memory, the size of what it builds, template output, cycle timers and
engine steps. Past one, the step that ran it ends at once as an incident naming the element and the limit, while
the server goes on answering everyone else."""

import threading
import time

import pytest
import requests
from sqlalchemy import select

from orchestrator import engine
from orchestrator.core import firing
from orchestrator.extensions import db
from orchestrator.models import Instance

from .browser import served
from .fixtures.builders import HEAD, TAIL
from .helpers import assert_rejected, deploy_bpmn, upload

ACTOR = {"X-Polku-Actor": "tester"}
STEP_SECONDS = 2.0  # the step that runs the code ends within this, as an incident
OTHERS_SECONDS = 0.5  # another client's request meanwhile


def pathway(middle: str, pid: str = "rajat", timer: str = "") -> str:
    """start → user task "alku" → ``middle`` (an element with id "vaihe") → user task "jatko" → end."""
    return HEAD + f"""<bpmn:process id="{pid}" name="Rajat" isExecutable="true">
  <bpmn:startEvent id="alkaa"/>
  <bpmn:userTask id="alku" name="Alku"/>
  {middle}
  <bpmn:userTask id="jatko" name="Jatko"/>
  {timer}
  <bpmn:endEvent id="loppu"/>
  <bpmn:sequenceFlow id="f1" sourceRef="alkaa" targetRef="alku"/>
  <bpmn:sequenceFlow id="f2" sourceRef="alku" targetRef="vaihe"/>
  <bpmn:sequenceFlow id="f3" sourceRef="vaihe" targetRef="jatko"/>
  <bpmn:sequenceFlow id="f4" sourceRef="jatko" targetRef="loppu"/>
</bpmn:process>
""" + TAIL


def script(code: str) -> str:
    return pathway(f'<bpmn:scriptTask id="vaihe" name="Laske"><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>')


def instructions(template: str) -> str:
    return pathway('<bpmn:userTask id="vaihe" name="Lue"><bpmn:extensionElements>'
                   f'<spiffworkflow:instructionsForEndUser>{template}</spiffworkflow:instructionsForEndUser>'
                   '</bpmn:extensionElements></bpmn:userTask>')


def cycle(expression: str) -> str:
    """A non-interrupting cycle timer on the task "jatko" that opens after "alku"."""
    return pathway('<bpmn:scriptTask id="vaihe" name="Välivaihe"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>',
                   timer=(
        '<bpmn:boundaryEvent id="sykli" attachedToRef="jatko" cancelActivity="false">'
        f'<bpmn:timerEventDefinition><bpmn:timeCycle xsi:type="bpmn:tFormalExpression">{expression}'
        '</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
        '<bpmn:endEvent id="muistettu"/><bpmn:sequenceFlow id="f5" sourceRef="sykli" targetRef="muistettu"/>'))


PAST_A_LIMIT = {
    "while-true": (script("while True: pass"), "time limit"),
    "huge-power": (script("x = 10**(10**7) &gt; 0"), "size limit"),
    "gigabyte-string": (script("x = 'a' * 10**9"), "size limit"),
    "gigabyte-list": (script("x = [0] * (10**9 // 8)"), "size limit"),
    "gigabyte-comprehension": (script("x = [0 for i in range(10**9 // 8)]"), "size limit"),
    "gigabytes-bit-by-bit": (script("x = [list(range(10**5)) for i in range(500)]"), "limit"),  # 1.8 GB
    "instructions": (instructions("{{ 'a' * 20000000 }}"), "size limit"),
}


@pytest.mark.parametrize("key", PAST_A_LIMIT)
def test_code_past_a_limit_ends_its_step_as_an_incident_while_others_are_served(app, key):
    """The completion that runs the code ends within STEP_SECONDS as an incident, and another client's requests
    meanwhile take less than OTHERS_SECONDS each."""
    bpmn, limit = PAST_A_LIMIT[key]
    with app.app_context():
        deploy_bpmn(key, bpmn.replace('id="rajat"', f'id="{key.replace("-", "_")}"'))
    with served(app) as base:
        _past_a_limit(base, key, limit)
        assert requests.get(f"{base}/api/v1/pathways", headers=ACTOR, timeout=5).status_code == 200  # alive


def _past_a_limit(base: str, key: str, limit: str) -> None:
    started = requests.post(f"{base}/api/v1/instances", json={"pathway": key}, headers=ACTOR, timeout=10)
    assert started.status_code == 201, (key, started.text)
    [task] = started.json()["tasks"]
    done: dict = {}

    def complete():
        began = time.perf_counter()
        response = requests.post(f"{base}/api/v1/tasks/{task['id']}/complete", json={"data": {}}, headers=ACTOR,
                                 timeout=30)
        done.update(response=response, seconds=time.perf_counter() - began)

    completing = threading.Thread(target=complete, daemon=True)
    completing.start()
    others = _others_meanwhile(base, completing)
    completing.join(STEP_SECONDS + 3)

    assert not completing.is_alive(), f"{key}: the step that ran the code did not end"
    assert done["seconds"] < STEP_SECONDS, (key, done["seconds"])
    assert all(seconds < OTHERS_SECONDS and status == 200 for seconds, status in others), (key, others)
    answer = done["response"]
    assert answer.status_code == 200, (key, answer.text)
    instance = answer.json()
    assert instance["status"] == "incident", (key, instance)
    assert instance["incident"].startswith("vaihe:") and limit in instance["incident"], (key, instance["incident"])
    again = requests.get(f"{base}/api/v1/instances/{instance['id']}", headers=ACTOR, timeout=5)
    assert again.status_code == 200 and again.json()["status"] == "incident", (key, again.text)


def _others_meanwhile(base: str, completing: threading.Thread) -> list[tuple[float, int]]:
    """Another client lists the pathways while the step runs (at least once): how long each took, and its status."""
    time.sleep(0.05)  # the completion is on its way
    timings = []
    while completing.is_alive() or not timings:
        began = time.perf_counter()
        try:
            status = requests.get(f"{base}/api/v1/pathways", headers=ACTOR, timeout=5).status_code
        except requests.RequestException:
            status = 0
        timings.append((time.perf_counter() - began, status))
        if len(timings) > 50:
            break
        time.sleep(0.05)
    return timings


def complete_first(api, bpmn: str) -> tuple[dict, float]:
    """Deploy ``bpmn``, start it and complete its first task; the instance then, and how long the step took.

    The completion runs in a thread of its own, so that code that never ends fails the test rather than hangs it.
    """
    deploy_bpmn("rajat", bpmn)
    [task] = api.start("rajat")["tasks"]
    done: dict = {}

    def complete():
        began = time.perf_counter()
        done.update(response=api.complete(task["id"], {}), seconds=time.perf_counter() - began)

    completing = threading.Thread(target=complete, daemon=True)
    completing.start()
    completing.join(STEP_SECONDS + 3)
    assert not completing.is_alive(), "the step that ran the code did not end"
    assert done["response"].status_code == 200, done["response"].json
    return done["response"].json, done["seconds"]


@pytest.mark.parametrize("code, limit", [
    ("x = [1]\nfor i in range(24):\n    x = [x, x]", "size limit"),  # 2 ** 24 lists once written out as JSON
    ("x = 'a'.ljust(10**9)", "size limit"),
    ("x = f'{1:&gt;1000000000}'", "size limit"),
    ("x = '%1000000000d' % 1", "size limit"),
    ("x = 1 &lt;&lt; 10**8", "size limit"),
    ("x = pow(10, 10**7)", "size limit"),
    ("s = 'a'\nfor i in range(31):\n    s += s", "size limit"),
    ("while True:\n    try:\n        while True: pass\n    except Exception:\n        pass", "time limit"),
])
def test_more_ways_past_a_limit(api, ctx, code, limit):
    instance, seconds = complete_first(api, script(code))
    assert instance["status"] == "incident" and instance["incident"].startswith("vaihe:"), instance
    assert limit in instance["incident"] and seconds < STEP_SECONDS


def test_the_script_deadline_is_a_setting(api, ctx):
    was = engine.limits.current()
    engine.limits.configure({"POLKU_SCRIPT_SECONDS": 0.2})  # as the app passes its config
    try:
        instance, seconds = complete_first(api, script("while 1: ..."))
    finally:
        engine.use_limits(script_seconds=was.script_seconds)
    assert "time limit: pathway code ran longer than 0.2 s" in instance["incident"] and seconds < 1


def test_template_output_is_cut_off(api, ctx):
    long = "{% for i in range(20000) %}kymmenen m {% endfor %}"  # 200,000 characters, each operation small
    instance, _ = complete_first(api, instructions(long))
    assert instance["status"] == "incident" and instance["incident"].startswith("vaihe:")
    assert "output limit" in instance["incident"], instance["incident"]
    shown = [t for t in api.get(f"/api/v1/instances/{instance['id']}").json["tasks"] if t["spec"] == "vaihe"]
    assert len(shown) == 1  # the task is open, its instructions shown as written


def test_ordinary_code_and_templates_run_as_before(api, ctx):
    code = ("pisteet = sum([i * 2 for i in range(5)])\npisteet += 1\nnimi = 'Aino' + ' ' + 'A' * 3\n"
            "rivi = f'{pisteet:&gt;4}|{nimi!r}'\nosuus = '%d %%' % 50\nlista = [0] * 3 + [1]\nvalmis = 2 ** 10 == 1024")
    deploy_bpmn("rajat", script(code).replace(
        '<bpmn:userTask id="jatko" name="Jatko"/>',
        '<bpmn:userTask id="jatko" name="Jatko"><bpmn:extensionElements><spiffworkflow:instructionsForEndUser>'
        "Hei {{ nimi }}, {{ pisteet * 2 }} {{ '-' * 3 }} {{ lista | join(',') }}"
        "</spiffworkflow:instructionsForEndUser></bpmn:extensionElements></bpmn:userTask>"))
    [task] = api.start("rajat")["tasks"]
    instance = api.complete(task["id"], {}).json
    assert instance["status"] == "running", instance
    [jatko] = instance["tasks"]
    shown = api.get(f"/api/v1/tasks/{jatko['id']}").json
    assert shown["instructions"] == "Hei Aino AAA, 42 \\-\\-\\- 0,0,0,1", shown  # Markdown escaped, as before


def test_a_cycle_timer_repeating_at_once_is_refused_at_deploy(api, ctx):
    response = upload(api, {"rajat.bpmn": cycle('"R/PT0S"').encode()})
    assert_rejected(response, "rajat.bpmn", "repeats every 0 s", "at most once a minute", element="sykli")
    assert all(p["line"] for p in response.json["errors"])


def test_a_cycle_computed_to_repeat_at_once_ends_as_an_incident(api, ctx):
    """The expression passes deploy; at its second firing in the step the timer stops, as an incident."""
    instance, seconds = complete_first(api, cycle('"R/PT" + str(0) + "S"'))
    assert instance["status"] == "incident" and instance["incident"].startswith("sykli: timer limit"), instance
    assert "at most once a minute" in instance["incident"] and seconds < STEP_SECONDS
    assert firing.fire_due() == 0  # an instance in incident is passed by: the scheduler does not loop on it
    db.session.rollback()
    assert db.session.scalars(select(Instance.status)).one() == "incident"


LOOP = ('<bpmn:scriptTask id="vaihe"><bpmn:script>x = 0</bpmn:script></bpmn:scriptTask>'
        '<bpmn:scriptTask id="kasvata"><bpmn:script>x = x + 1</bpmn:script></bpmn:scriptTask>'
        '<bpmn:exclusiveGateway id="silmukka" default="f_ulos"/>'
        '<bpmn:sequenceFlow id="f_alku" sourceRef="vaihe" targetRef="kasvata"/>'
        '<bpmn:sequenceFlow id="f_kasvatettu" sourceRef="kasvata" targetRef="silmukka"/>'
        '<bpmn:sequenceFlow id="f_takaisin" sourceRef="silmukka" targetRef="kasvata">'
        '<bpmn:conditionExpression>x &lt; 10**5</bpmn:conditionExpression></bpmn:sequenceFlow>'
        '<bpmn:sequenceFlow id="f_ulos" sourceRef="silmukka" targetRef="jatko"/>')


def test_a_loop_without_a_wait_ends_at_the_engine_step_limit(api, ctx):
    bpmn = pathway(LOOP).replace('<bpmn:sequenceFlow id="f3" sourceRef="vaihe" targetRef="jatko"/>', "")
    instance, seconds = complete_first(api, bpmn)
    assert instance["status"] == "incident" and seconds < STEP_SECONDS, instance
    assert "step limit: the process ran more than 1,000 engine steps" in instance["incident"], instance["incident"]
