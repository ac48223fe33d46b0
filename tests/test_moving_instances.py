"""Moving running instances to a new version: the dry run's report, the move, and the pathway going on.

Twenty clients on *Painonhallinta* v1, each at another week, are moved to a v2 that adds a call after the
mid-point review and renames the weekly weighing. A v3 drops the exercise page: a client standing on it
is refused and stays on v1.
"""

import json
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from orchestrator.clock import CLOCK
from orchestrator.core import firing, steps
from orchestrator.extensions import db
from orchestrator.models import Event, HumanTask, Instance, PathwayVersion
from orchestrator.tools import deploy

from .conftest import FIXTURES, ROOT
from .fixtures.versions import edited, renamed, user_task_on, without

START = datetime(2027, 1, 4, 9, tzinfo=ZoneInfo("Europe/Helsinki"))
ANSWERS = json.loads((FIXTURES / "simulations" / "painonhallinta.json").read_text(encoding="utf-8"))["tasks"]
NEW_NAME = "Punnitse itsesi ja kirjaa paino"
DESIGNER = {"X-Polku-Actor": "suunnittelija.laine"}
pytestmark = pytest.mark.clock(START)


def package(*edits):
    """The sample, or a version of it made by ``edits`` (without the sample's scenarios, which tell of v1)."""
    found = deploy.from_dir(ROOT / "bpmn" / "painonhallinta", ROOT / "forms")
    if not edits:
        return found
    bpmn = edited(found.files["painonhallinta.bpmn"], *edits)
    return replace(found, files={**found.files, "painonhallinta.bpmn": bpmn}, scenarios={})


def open_tasks(instance_id: int) -> dict[str, HumanTask]:
    db.session.rollback()
    return {t.spec: t for t in db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                                          HumanTask.state == "open"))}


def days(n: float) -> None:
    """Time passes as in service: the clock moves on and due timers fire."""
    CLOCK.advance(timedelta(days=n))
    firing.fire_due()


def answer(instance_id: int, spec: str) -> None:
    task = open_tasks(instance_id)[spec]
    data = ANSWERS[spec][0] if isinstance(ANSWERS[spec], list) else ANSWERS[spec]
    steps.complete(task.id, data, "asiakas")


@pytest.fixture
def twenty(ctx, clock):
    """Twenty instances of v1 started four days apart (the first is in its twelfth week), a 21st standing on the
    exercise page; then v2 and v3 deployed."""
    [v1] = deploy.deploy([package()], "suunnittelija")
    started = []
    for n in range(21):
        instance = steps.start(v1.version, "hoitaja", {"ruokapaivakirja": False, "liikuntapaivakirja": False}, None,
                               f"asiakas-{n}")
        answer(instance.id, "aloituskysely")
        started.append(instance.id)
        days(4 if n < 19 else 8)
    assert "lue_arkiliikunta" in open_tasks(started[-1])
    add_call = user_task_on("flow_valiarvio_lue_valiarvio", "soita_asiakkaalle", "Soita asiakkaalle")
    deploy.deploy([package(add_call, renamed("viikkopunnitus", NEW_NAME))], "suunnittelija")
    deploy.deploy([package(without("lue_arkiliikunta"))], "suunnittelija")
    return started


def test_twenty_instances_at_different_weeks_move_to_v2_and_go_on_there(app, api, twenty):
    weeks = {(START + timedelta(days=4 * 20) - db.session.get(Instance, i).created_at).days // 7 for i in twenty[:20]}
    assert len(weeks) >= 10, weeks
    body = {"pathway": "painonhallinta", "from_version": 1, "to_version": 2, "instances": twenty[:20]}

    dry = api.client.post("/api/v1/migrations", json=body, headers=DESIGNER)
    assert dry.status_code == 200, dry.json
    report = {o["instance_id"]: o for o in dry.json["outcomes"]}
    assert dry.json["dry_run"] is True and len(report) == 20
    assert all(o["possible"] and not o["moved"] for o in report.values()), report
    weighing = [o for o in report.values() if "viikkopunnitus" in o["standing"]]
    assert weighing and all("viikkopunnitus" in o["changed"] for o in weighing)
    before_review = [o for o in report.values() if "soita_asiakkaalle" in o["added"]]
    assert before_review, "those not past the review have the call ahead of them"
    assert db.session.scalar(select(Instance.version_id).where(Instance.id == twenty[0])) == _version(1)

    moved = api.client.post("/api/v1/migrations", json={**body, "dry_run": False}, headers=DESIGNER)
    assert all(o["moved"] for o in moved.json["outcomes"]), moved.json
    db.session.rollback()
    for instance_id in twenty[:20]:
        instance = db.session.get(Instance, instance_id)
        assert instance.version_id == _version(2)
        history = db.session.scalars(select(Event).where(Event.instance_id == instance_id,
                                                         Event.kind == "migrated")).one()
        assert (history.actor, history.data["from"], history.data["to"]) == ("suunnittelija.laine", 1, 2)
        for task in open_tasks(instance_id).values():
            assert task.version_id == _version(2)
            if task.spec == "viikkopunnitus":
                assert task.title == NEW_NAME

    # Each goes on on v2: the weekly weighing with its new name, the call after the review, to the end.
    called = set()
    for _ in range(14 * 7):
        db.session.rollback()
        for task in db.session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(twenty[:20]),
                                                               HumanTask.state == "open")).all():
            assert task.spec != "viikkopunnitus" or task.title == NEW_NAME
            if task.spec == "soita_asiakkaalle":
                called.add(task.instance_id)
                steps.complete(task.id, {}, "hoitaja")
            else:
                answer(task.instance_id, task.spec)
        days(1)
    db.session.rollback()
    statuses = {db.session.get(Instance, i).status for i in twenty[:20]}
    assert statuses == {"completed"}, statuses
    assert called == {o["instance_id"] for o in before_review}


def test_an_instance_standing_on_a_removed_task_is_refused_and_stays_on_v1(app, runner, twenty):
    standing = twenty[-1]
    assert "lue_arkiliikunta" in open_tasks(standing)
    dry = runner.invoke(args=["move-instances", "painonhallinta", "--from", "1", "--to", "3",
                              "--instance", str(standing)])
    assert dry.exit_code == 0, dry.output
    assert "task 'lue_arkiliikunta' where the instance stands is not in the new version" in dry.output
    assert "0 of 1 can move (a dry run" in dry.output
    done = runner.invoke(args=["move-instances", "painonhallinta", "--from", "1", "--to", "3",
                               "--instance", str(standing), "--run"])
    assert "0 of 1 moved" in done.output, done.output
    db.session.rollback()
    assert db.session.get(Instance, standing).version_id == _version(1)
    assert not db.session.scalars(select(Event).where(Event.instance_id == standing,
                                                      Event.kind == "migrated")).all()
    answer(standing, "lue_arkiliikunta")  # and it goes on, on v1
    assert "lue_arkiliikunta" not in open_tasks(standing)


def test_only_operators_move_instances(api, twenty):
    body = {"pathway": "painonhallinta", "from_version": 1, "to_version": 2}
    for person in ("hoitaja.virtanen", "asiakas-123"):
        refused = api.client.post("/api/v1/migrations", json=body, headers={"X-Polku-Actor": person})
        assert refused.status_code == 403
    other = api.client.post("/api/v1/migrations", json={**body, "to_version": 9}, headers=DESIGNER)
    assert other.status_code == 404


def _version(number: int) -> int:
    return db.session.scalar(select(PathwayVersion.id).where(PathwayVersion.number == number))
