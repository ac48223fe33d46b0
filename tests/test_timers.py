"""Every BPMN timer shape a pathway uses fires at its time on the moved clock, once."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from orchestrator.clock import CLOCK
from orchestrator.core import firing, notify
from orchestrator.extensions import db
from orchestrator.models import Event, HumanTask, Notification, Timer

from .fixtures import timer_shapes as shapes
from .helpers import deploy_bpmn, upload

START = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)  # 09:00 in Helsinki (summer time)
SECOND = timedelta(seconds=1)
pytestmark = pytest.mark.clock(START)


def start(api, key: str, bpmn: str, **body) -> dict:
    deploy_bpmn(key, bpmn)
    return api.start(key, **body)


def timer_rows(instance_id: int) -> list[Timer]:
    db.session.expire_all()
    return list(db.session.scalars(select(Timer).where(Timer.instance_id == instance_id)))


def open_tasks(instance_id: int) -> list[str]:
    db.session.rollback()  # a fresh read: another thread may have written meanwhile
    return sorted(t.spec for t in db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == "open")))


def fired(instance_id: int) -> list[str]:
    """Every timer firing the history records, in order."""
    db.session.rollback()
    events = db.session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.id))
    return [t["spec"] for e in events for t in (e.data or {}).get("timers", [])]


def move_to(at: datetime) -> int:
    """Move the clock the test stopped (its ``clock``) to ``at`` and fire what falls due."""
    CLOCK.set(at)
    return firing.fire_due()


def test_duration_timer_fires_once_when_due(api, clock, ctx):
    instance = start(api, "odotus", shapes.intermediate("timeDuration", "P2D"))
    [row] = timer_rows(instance["id"])
    assert (row.kind, row.spec, row.due_at) == ("duration", "ajastin", START + timedelta(days=2))
    assert instance["timers"][0]["due_at"].startswith("2026-06-03T06:00:00")

    assert move_to(START + timedelta(days=2) - SECOND) == 0
    assert open_tasks(instance["id"]) == [] and fired(instance["id"]) == []
    assert move_to(START + timedelta(days=2) + SECOND) == 1
    assert open_tasks(instance["id"]) == ["jatko"] and timer_rows(instance["id"]) == []
    assert move_to(START + timedelta(days=30)) == 0
    assert fired(instance["id"]) == ["ajastin"]


def test_date_timer_without_zone_is_read_in_helsinki_time(api, clock, ctx):
    instance = start(api, "paivays", shapes.intermediate("timeDate", "2026-06-10T09:00:00", pid="paivays"))
    due = datetime(2026, 6, 10, 6, 0, tzinfo=UTC)  # 09:00 EEST
    assert timer_rows(instance["id"])[0].due_at == due
    assert timer_rows(instance["id"])[0].kind == "date"
    assert move_to(due - SECOND) == 0
    assert move_to(due + SECOND) == 1
    assert open_tasks(instance["id"]) == ["jatko"] and fired(instance["id"]) == ["ajastin"]


def test_a_pathway_can_name_its_own_time_zone(api, clock, ctx):
    instance = start(api, "utc", shapes.intermediate("timeDate", "2026-06-10T09:00:00", pid="utc", time_zone="UTC"))
    assert timer_rows(instance["id"])[0].due_at == datetime(2026, 6, 10, 9, 0, tzinfo=UTC)


def test_an_unknown_time_zone_is_refused_at_deploy(api):
    bpmn = shapes.intermediate("timeDate", "2026-06-10T09:00:00", pid="vyohyke", time_zone="Europe/Hki")
    response = upload(api, {"vyohyke.bpmn": bpmn.encode()}, key="vyohyke")
    assert response.status_code == 422
    assert "Europe/Hki" in response.json["errors"][0]["reason"]
    assert response.json["errors"][0]["element"] == "vyohyke"


def test_intermediate_cycle_timer_fires_each_cycle_then_stops(api, clock, ctx):
    instance = start(api, "sykli", shapes.intermediate("timeCycle", "R3/P1D", pid="sykli"))
    for day in (1, 2, 3):
        assert move_to(START + timedelta(days=day, seconds=1)) == 1
    assert move_to(START + timedelta(days=10)) == 0
    assert fired(instance["id"]) == ["ajastin"] * 3
    assert timer_rows(instance["id"]) == []


def test_reminder_cycle_fires_three_times_then_stops(api, clock, ctx):
    instance = start(api, "verenpaine", shapes.reminder_cycle("R3/P1D"), client_id="asiakas-7",
                     variables={"nimi": "Aino"})
    [task] = instance["tasks"]
    for day in (1, 2, 3):
        assert move_to(START + timedelta(days=day) - SECOND) == 0
        assert move_to(START + timedelta(days=day, seconds=1)) == 1
        assert open_tasks(instance["id"]) == ["mittaus"]  # a reminder leaves the task open
    assert timer_rows(instance["id"]) == []
    for day in (4, 5, 9):
        assert move_to(START + timedelta(days=day, seconds=1)) == 0
    assert fired(instance["id"]) == ["muistutus"] * 3

    notes = list(db.session.scalars(select(Notification).order_by(Notification.id)))
    assert [(n.kind, n.audience, n.recipient, n.task_id, n.source) for n in notes] == \
        [("reminder", "client", "asiakas-7", task["id"], "muistutus")] * 3
    assert notes[0].text == "Muista mitata verenpaineesi, Aino."
    assert [n.created_at for n in notes] == [START + timedelta(days=d, seconds=1) for d in (1, 2, 3)]


def test_reminder_cycle_stops_when_the_task_is_done(api, clock, ctx):
    instance = start(api, "verenpaine", shapes.reminder_cycle("R3/P1D"))
    for day in (1, 2):
        assert move_to(START + timedelta(days=day, seconds=1)) == 1
    assert api.complete(instance["tasks"][0]["id"], {}).status_code == 200
    assert timer_rows(instance["id"]) == []
    assert move_to(START + timedelta(days=10)) == 0
    assert fired(instance["id"]) == ["muistutus"] * 2


def test_interrupting_timer_escalates_to_the_nurse(api, clock, ctx):
    instance = start(api, "eskalaatio", shapes.escalation("P7D"))
    assert move_to(START + timedelta(days=7) - SECOND) == 0
    assert open_tasks(instance["id"]) == ["kysely"]
    assert move_to(START + timedelta(days=7, seconds=1)) == 1
    assert open_tasks(instance["id"]) == ["soita"]
    db.session.expire_all()
    kysely = db.session.scalar(select(HumanTask).where(HumanTask.spec == "kysely"))
    soita = db.session.scalar(select(HumanTask).where(HumanTask.spec == "soita"))
    assert kysely.state == "missed" and (soita.role, soita.audience) == ("Hoitaja", "professional")
    late = api.complete(kysely.id, {})  # an answer after its time is refused, saying why
    assert late.status_code == 409 and "its time ran out" in late.json["message"]
    assert move_to(START + timedelta(days=30)) == 0
    assert fired(instance["id"]) == ["ei_vastausta"]


def test_an_answer_in_time_cancels_the_escalation(api, clock, ctx):
    instance = start(api, "eskalaatio", shapes.escalation("P7D"))
    clock.set(START + timedelta(days=3))
    assert api.complete(instance["tasks"][0]["id"], {}).json["status"] == "completed"
    assert timer_rows(instance["id"]) == []
    assert move_to(START + timedelta(days=8)) == 0
    assert fired(instance["id"]) == []


def test_race_won_by_the_message_never_fires_the_timer(api, clock, ctx):
    instance = start(api, "kilpa", shapes.race("P14D"))
    assert [t["spec"] for t in instance["timers"]] == ["ei_tulosta"]
    clock.set(START + timedelta(days=5))
    response = api.post("/api/v1/messages", {"name": "lab_result_ready", "instance_id": instance["id"],
                                             "payload": {"crp": 4}})
    assert response.status_code == 200, response.json
    assert response.json["timers"] == [] and timer_rows(instance["id"]) == []
    assert move_to(START + timedelta(days=60)) == 0
    assert open_tasks(instance["id"]) == ["arvioi"] and fired(instance["id"]) == []
    assert db.session.scalar(select(Notification)) is None


def test_race_won_by_the_timer_closes_the_door_on_the_message(api, clock, ctx):
    instance = start(api, "kilpa", shapes.race("P14D"))
    assert move_to(START + timedelta(days=14, seconds=1)) == 1
    assert open_tasks(instance["id"]) == ["muistuta"] and fired(instance["id"]) == ["ei_tulosta"]
    response = api.post("/api/v1/messages", {"name": "lab_result_ready", "instance_id": instance["id"]})
    assert response.status_code == 409
    assert db.session.scalar(select(Notification)).text == "Käy laboratoriossa."


def test_timers_of_many_instances_fire_in_due_order(api, clock, ctx):
    deploy_bpmn("odotus", shapes.intermediate("timeDuration", "P2D"))
    ids = []
    for hours in (5, 1, 3):
        clock.set(START + timedelta(hours=hours))
        ids.append(api.start("odotus")["id"])
    assert move_to(START + timedelta(days=3)) == 3
    firing_order = [e.instance_id for e in db.session.scalars(
        select(Event).where(Event.kind == "timers_fired").order_by(Event.id))]
    assert firing_order == [ids[1], ids[2], ids[0]]


def test_a_timer_value_that_is_not_a_duration_becomes_an_incident_not_a_loop(api, clock, ctx):
    bpmn = shapes.intermediate("timeDuration", "P2D").replace('"P2D"', "odotusaika")
    deploy_bpmn("muuttuja", bpmn.replace('id="odotus"', 'id="muuttuja"'))
    instance = api.start("muuttuja", variables={"odotusaika": "kaksi päivää"})
    assert instance["status"] == "incident" and "ajastin" in instance["incident"]
    assert move_to(START + timedelta(days=3)) == 0


class Recorder:
    """A notifier port that keeps what it was given; the second delivery fails once."""

    def __init__(self):
        self.sent, self.failures = [], 1

    def deliver(self, notification) -> None:
        if len(self.sent) == 1 and self.failures:
            self.failures -= 1
            raise ConnectionError("SMS gateway down")
        self.sent.append((notification.recipient, notification.text))


def test_notifications_are_delivered_once_through_the_port(api, clock, app, ctx):
    app.extensions["polku_notifier"] = port = Recorder()
    start(api, "verenpaine", shapes.reminder_cycle("R3/P1D"), client_id="asiakas-7", variables={"nimi": "Aino"})
    move_to(START + timedelta(days=1, seconds=1))
    move_to(START + timedelta(days=2, seconds=1))
    assert notify.deliver_pending() == 1  # the second one failed and stays pending
    assert notify.deliver_pending() == 1
    assert notify.deliver_pending() == 0
    assert port.sent == [("asiakas-7", "Muista mitata verenpaineesi, Aino.")] * 2
    db.session.expire_all()
    assert [n.delivered_at for n in db.session.scalars(select(Notification))] == [clock.now()] * 2


def test_the_default_port_writes_to_the_log(app, caplog):
    from orchestrator.core.notify import LogNotifier

    caplog.set_level("INFO")
    row = Notification(id=5, kind="reminder", audience="client", recipient="asiakas-7", text="Hei")
    LogNotifier().deliver(row)
    assert "notification 5 (reminder) to client asiakas-7: Hei" in caplog.text


def test_reminders_reach_the_client_through_the_api(api, clock, ctx):
    start(api, "verenpaine", shapes.reminder_cycle("R3/P1D"), client_id="asiakas-7", variables={"nimi": "Aino"})
    for day in (1, 2):
        move_to(START + timedelta(days=day, seconds=1))
    inbox = api.get("/api/v1/notifications?recipient=asiakas-7&audience=client").json
    assert [(n["kind"], n["text"]) for n in inbox] == [("reminder", "Muista mitata verenpaineesi, Aino.")] * 2
    assert inbox[0]["created_at"] > inbox[1]["created_at"]  # newest first
    read = api.post(f"/api/v1/notifications/{inbox[0]['id']}/read")
    assert read.status_code == 200 and read.json["read_at"] is not None
    assert [n["id"] for n in api.get("/api/v1/notifications?recipient=asiakas-7&unread=true").json] == \
        [inbox[1]["id"]]
    assert api.get("/api/v1/notifications?recipient=someone-else").json == []
    assert api.post("/api/v1/notifications/999/read").status_code == 404


def test_inbox_filters_overdue_tasks(api, sample, clock, ctx):
    instance = api.start()  # the questionnaire is due in seven days
    [task] = instance["tasks"]
    assert task["due_at"].startswith("2026-06-08T06:00:00")
    clock.set(START + timedelta(days=7, hours=1))
    assert [t["id"] for t in api.get("/api/v1/tasks?overdue=true").json] == [task["id"]]
    assert api.get("/api/v1/tasks?overdue=false").json == []
    clock.set(START + timedelta(days=6))
    assert api.get("/api/v1/tasks?overdue=true").json == []


def test_the_scheduler_fires_a_timer_on_the_real_clock(api, app, ctx):
    from orchestrator.core.scheduler import TimerScheduler

    instance = start(api, "odotus", shapes.intermediate("timeDuration", "PT1S"))
    scheduler = TimerScheduler(app)
    scheduler.start()
    try:
        deadline = time.monotonic() + 15
        while open_tasks(instance["id"]) != ["jatko"] and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        scheduler.shutdown()
    assert open_tasks(instance["id"]) == ["jatko"]
    assert fired(instance["id"]) == ["ajastin"]


def test_the_scheduler_drains_a_backlog_with_its_workers_each_timer_once(api, app, clock, ctx):
    """On PostgreSQL several threads fire together (SKIP LOCKED keeps them apart); SQLite uses one."""
    from orchestrator.core.scheduler import TimerScheduler

    deploy_bpmn("odotus", shapes.intermediate("timeDuration", "PT1H"))
    ids = [api.start("odotus")["id"] for _ in range(40)]
    app.config["POLKU_TIMER_WORKERS"] = 4
    scheduler = TimerScheduler(app)
    try:
        assert scheduler.helpers == (3 if db.engine.dialect.name == "postgresql" else 0)
        clock.set(START + timedelta(hours=1, seconds=1))
        assert scheduler.fire() == 40
        assert scheduler.fire() == 0
    finally:
        scheduler.shutdown()
    assert [fired(i) for i in ids] == [["ajastin"]] * 40
    assert all(open_tasks(i) == ["jatko"] for i in ids)


def test_a_run_asked_for_while_one_is_going_returns_at_once_and_that_one_looks_again(api, app, clock, ctx):
    """Waiting on the run lock would make APScheduler skip that job's next times, so no run waits."""
    from orchestrator.core.scheduler import TimerScheduler

    instance = start(api, "odotus", shapes.intermediate("timeDuration", "PT1H"))
    scheduler = TimerScheduler(app)
    runs, asked = [], []
    run_once = scheduler._run_once

    def run_once_then_ask_for_another():
        run_once()
        runs.append(fired(instance["id"]))
        if len(runs) == 1:  # the timer falls due, and the sweep asks for a run while this one goes
            clock.set(START + timedelta(hours=1, seconds=1))
            other = threading.Thread(target=scheduler.run)
            began = time.monotonic()
            other.start()
            other.join(10)
            asked.append(time.monotonic() - began)

    scheduler._run_once = run_once_then_ask_for_another
    try:
        scheduler.run()
    finally:
        scheduler.shutdown()
    assert asked[0] < 5, "the second run returned without waiting for the first"
    assert runs == [[], ["ajastin"]], "the run going on looked again and fired the timer, once"
    assert open_tasks(instance["id"]) == ["jatko"]


def test_a_due_timer_whose_step_fails_is_left_to_the_sweep_not_spun_on(api, app, clock, monkeypatch, caplog, ctx):
    from orchestrator.core import steps
    from orchestrator.core.scheduler import TimerScheduler

    instance = start(api, "odotus", shapes.intermediate("timeDuration", "PT1H"))
    later = start(api, "myohemmin", shapes.intermediate("timeDuration", "PT3H"))

    def broken(*args, **kwargs):  # after the claim, inside the step's transaction
        raise RuntimeError("the step broke")

    monkeypatch.setattr(steps, "_advance", broken)
    scheduler = TimerScheduler(app)
    clock.set(START + timedelta(hours=1, seconds=1))
    try:
        scheduler.run()
        assert scheduler._armed is None, "no wake-up armed for a moment already past"
        assert f"instance {instance['id']} failed; left for the next run" in caplog.text
        monkeypatch.undo()
        scheduler.run()  # the next sweep fires it
        assert scheduler._armed == START + timedelta(hours=3), "then the wake-up is armed for the next timer"
    finally:
        scheduler.shutdown()
    assert fired(instance["id"]) == ["ajastin"]
    assert fired(later["id"]) == []


def test_a_step_that_sets_an_earlier_timer_rearms_the_wake_up(api, app, ctx):
    """With the sweep an hour apart, only the wake-up the new timer re-armed can fire it in time."""
    from orchestrator.core.scheduler import TimerScheduler

    deploy_bpmn("odotus", shapes.intermediate("timeDuration", "PT1S"))
    app.config["POLKU_TIMER_SWEEP_SECONDS"] = 3600
    scheduler = TimerScheduler(app)
    scheduler.start()  # its start-up sweep finds nothing to fire and no timer to wake for
    try:
        time.sleep(0.5)
        assert not scheduler._run_lock.locked() and scheduler._armed is None, "the start-up sweep is over"
        instance = api.start("odotus")
        deadline = time.monotonic() + 15
        while open_tasks(instance["id"]) != ["jatko"] and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.shutdown()
    assert fired(instance["id"]) == ["ajastin"]


def test_a_task_inside_a_subprocess_whose_deadline_passed_is_missed(api, clock, ctx):
    from .fixtures.builders import HEAD, TAIL
    bpmn = HEAD + """<bpmn:process id="jakso" name="jakso" isExecutable="true">
  <bpmn:startEvent id="alku"/>
  <bpmn:subProcess id="viikko">
    <bpmn:startEvent id="viikko_alkaa"/>
    <bpmn:userTask id="mittaa" name="Mittaa"/>
    <bpmn:endEvent id="viikko_loppuu"/>
    <bpmn:sequenceFlow id="s1" sourceRef="viikko_alkaa" targetRef="mittaa"/>
    <bpmn:sequenceFlow id="s2" sourceRef="mittaa" targetRef="viikko_loppuu"/>
  </bpmn:subProcess>
  <bpmn:boundaryEvent id="viikko_ohi" attachedToRef="viikko" cancelActivity="true">
    <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P1D"</bpmn:timeDuration>
    </bpmn:timerEventDefinition>
  </bpmn:boundaryEvent>
  <bpmn:userTask id="jatko" name="Jatko"/>
  <bpmn:endEvent id="loppu"/>
  <bpmn:sequenceFlow id="f1" sourceRef="alku" targetRef="viikko"/>
  <bpmn:sequenceFlow id="f2" sourceRef="viikko" targetRef="jatko"/>
  <bpmn:sequenceFlow id="f3" sourceRef="viikko_ohi" targetRef="jatko"/>
  <bpmn:sequenceFlow id="f4" sourceRef="jatko" targetRef="loppu"/>
</bpmn:process>""" + TAIL
    instance = start(api, "jakso", bpmn)
    assert open_tasks(instance["id"]) == ["mittaa"]
    assert move_to(START + timedelta(days=1, seconds=1)) == 1
    assert open_tasks(instance["id"]) == ["jatko"]
    db.session.expire_all()
    mittaa = db.session.scalar(select(HumanTask).where(HumanTask.spec == "mittaa"))
    assert mittaa.state == "missed"
