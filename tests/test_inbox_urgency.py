"""Urgent first: a task's priority (Camunda's ``camunda:priority`` or a ``priority`` property, 0–100) puts an
alert above routine work in the team's inbox, with its values in a line of its own (``summary``); the inbox is
read part by part in the database's order, and the API pages a caller's own tasks there too."""

import json
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from orchestrator.care import observations
from orchestrator.clock import now
from orchestrator.core import queries, steps
from orchestrator.engine import PackageInvalid
from orchestrator.extensions import db
from orchestrator.models import HumanTask, Instance
from orchestrator.tools import deploy

from .fixtures.builders import process_bpmn
from .helpers import ROOT, open_task, text
from .test_answers_in_words import on  # noqa: F401 - the fixture
from .test_inbox import TASK_LINK, copies, open_nurse_task

LANE_TASK = '<bpmn:userTask id="tehtava" name="Tehtävä">'


def refused(task: str) -> str:
    """Why a one-task pathway whose user task is written as ``task`` cannot be deployed."""
    bpmn = process_bpmn().replace(f'{LANE_TASK}</bpmn:userTask>', task)
    with pytest.raises(PackageInvalid) as caught:
        deploy.deploy([deploy.from_files({"kiire.bpmn": bpmn.encode()}, "kiire", ROOT / "forms")], "tester")
    return json.dumps([p.as_dict() for p in caught.value.problems], ensure_ascii=False)


@pytest.mark.parametrize("written", ['camunda:priority="kiireellinen"', 'camunda:priority="101"'])
def test_a_priority_that_is_no_whole_number_from_0_to_100_is_refused_at_deploy_naming_the_task(ctx, written):
    why = refused(f'<bpmn:userTask id="tehtava" name="Tehtävä" {written}></bpmn:userTask>')
    assert "priority" in why and "0 to 100" in why and '"element": "tehtava"' in why


def test_a_summary_that_cannot_be_read_is_refused_at_deploy(ctx):
    why = refused(f'{LANE_TASK}<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property '
                  'name="summary" value="{{ arvo }"/></spiffworkflow:properties></bpmn:extensionElements>'
                  '</bpmn:userTask>')
    assert "summary cannot be read" in why and '"element": "tehtava"' in why


def test_a_high_reading_is_first_in_the_nurse_s_inbox_with_its_values(on, sample, web_as, api):  # noqa: F811
    routine = open_nurse_task(api, "asiakas-123")
    copies(routine, 3, late=3)  # late routine work: due before the alert, still after it
    pressure = on("verenpaine")
    steps.complete(open_task(pressure.id, "mittausohje").id, {}, "asiakas-123")
    db.session.rollback()
    observations.record(db.session.get(Instance, pressure.id), {"systolic": 168, "diastolic": 104}, now(),
                        "asiakas-123", now())
    alert = open_task(pressure.id, "kohonneet_arvot")
    row = db.session.execute(select(HumanTask.priority, HumanTask.summary).where(HumanTask.id == alert.id)).one()
    assert row.priority == 80 and row.summary.startswith("168/104 mmHg – ") and "itse kirjattu" in row.summary

    hanna = web_as("hoitaja.virtanen")
    page = text(hanna.get("/work"))
    links = TASK_LINK.findall(page)
    assert links[0] == alert.id, "the alert before late routine tasks"
    assert '<span class="tag tag--urgent">Kiireellinen</span>' in page
    assert f'<span class="inbox-summary">{row.summary}</span>' in page
    assert page.count('class="urgent"') == 1


def test_pages_run_from_urgent_to_due_to_undated_without_a_task_twice(api, sample, web_as, ctx):
    """30 urgent, 40 routine with a due time, 25 without: the pages run through the urgent, then the routine
    soonest due first, then the undated oldest first, every task once, whatever part a page begins in."""
    first = open_nurse_task(api, "asiakas-123")
    row = dict(db.session.execute(select(HumanTask.__table__).where(HumanTask.id == first.id)).mappings().one())
    db.session.execute(HumanTask.__table__.delete().where(HumanTask.id == first.id))
    at = now()

    def made(n, title, **values):
        return [{**row, "id": str(uuid.uuid4()), "title": f"{title} {i:02d}", **{
            k: v(i) if callable(v) else v for k, v in values.items()}} for i in range(n)]

    db.session.execute(insert(HumanTask.__table__), [
        *made(30, "Kiire", priority=90, due_at=lambda i: at + timedelta(hours=i + 1)),
        *made(40, "Rutiini", priority=50, due_at=lambda i: at + timedelta(minutes=i + 1)),
        *made(25, "Ajaton", priority=50, due_at=None, created_at=lambda i: at - timedelta(days=30 - i))])
    db.session.commit()
    hanna = web_as("hoitaja.virtanen")
    hanna.get("/lang/en?next=/work")
    count = -(-95 // queries.INBOX_PAGE)
    pages = [text(hanna.get(f"/work?page={n}")) for n in range(1, count + 1)]
    assert "95 tasks" in pages[0] and f"Page 1 of {count}" in pages[0] and count > 2
    titles = [t for page in pages for t in re.findall(r'">((?:Kiire|Rutiini|Ajaton) \d\d)</a>', page)]
    assert titles == ([f"Kiire {i:02d}" for i in range(30)] + [f"Rutiini {i:02d}" for i in range(40)]
                      + [f"Ajaton {i:02d}" for i in range(25)])
    seen = [link for page in pages for link in TASK_LINK.findall(page)]
    assert len(seen) == len(set(seen)) == 95


def test_the_api_pages_a_professional_s_own_tasks_in_the_database(api, sample, web_as, ctx):
    """Tasks of a team she is not in, ahead of hers in the order, no longer crowd hers out of a page."""
    mine = open_nurse_task(api, "asiakas-123")
    copies(mine, 4)
    row = dict(db.session.execute(select(HumanTask.__table__).where(HumanTask.id == mine.id)).mappings().one())
    db.session.execute(insert(HumanTask.__table__), [
        {**row, "id": str(uuid.uuid4()), "role": "Lääkäri", "queue": "Lääkäri", "priority": 99,
         "title": f"Lääkärin {i}"}
        for i in range(600)])
    db.session.commit()
    hanna = {"X-Polku-Actor": "hoitaja.virtanen"}
    first = api.client.get("/api/v1/tasks?limit=3", headers=hanna).get_json()
    rest = api.client.get("/api/v1/tasks?limit=3&offset=3", headers=hanna).get_json()
    assert len(first) == 3 and len(rest) == 2
    ids = [t["id"] for t in first + rest]
    assert len(set(ids)) == 5 and all(t["role"] == "Hoitaja" for t in first + rest)
    assert first[0]["priority"] == 50 and "summary" in first[0]
    assert api.client.get("/api/v1/tasks?offset=-1", headers=hanna).status_code == 422
    aino = api.client.get("/api/v1/tasks?audience=professional", headers={"X-Polku-Actor": "asiakas-123"})
    assert aino.status_code in (200, 403) and (aino.status_code == 403 or aino.get_json() == [])
    assert queries.tasks(limit=1000, within=queries.client_tasks("asiakas-123"), audience="professional") == []
