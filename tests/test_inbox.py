"""The team inbox at a real team's size: found by a client's name or identity code, paged and counted in the
database, pathways by name, clients who have not signed in named so that a nurse understands."""

import re
import uuid
from datetime import timedelta

from sqlalchemy import insert, select

from orchestrator.clock import now
from orchestrator.core import queries
from orchestrator.extensions import db
from orchestrator.models import HumanTask

from .conftest import ANSWERS
from .helpers import text
from .test_web import nurse_task, start_for

TASK_LINK = re.compile(r'href="/work/tasks/([0-9a-f-]{36})"')


def open_nurse_task(api, client_id: str) -> HumanTask:
    instance = start_for(api, client_id)
    api.complete(instance["tasks"][0]["id"], ANSWERS["esitietolomake"])
    return nurse_task(instance["id"])


def copies(task: HumanTask, n: int, late: int = 0) -> None:
    """``n`` more open tasks like ``task`` on its instance, the first ``late`` of them past their due time."""
    row = dict(db.session.execute(select(HumanTask.__table__).where(HumanTask.id == task.id)).mappings().one())
    at = now()
    db.session.execute(insert(HumanTask.__table__), [
        {**row, "id": str(uuid.uuid4()), "title": f"Tehtävä {i}",
         "due_at": at - timedelta(hours=i + 1) if i < late else at + timedelta(hours=i + 1)} for i in range(n)])
    db.session.commit()


def test_the_inbox_finds_a_client_by_name_and_by_identity_code_and_never_shows_the_code(api, sample, web_as, ctx):
    web_as("asiakas-123"), web_as("asiakas-456")  # signed in once: their names are known
    aino, bertil = open_nurse_task(api, "asiakas-123"), open_nurse_task(api, "asiakas-456")
    hanna = web_as("hoitaja.virtanen")
    for query in ("Aino", "aino", "010150-998J", "010150-998j", " 010150-998J "):
        found = hanna.post("/work", {"client": query, "due": ""})
        assert found.status_code == 302 and "998" not in found.headers["Location"], "no code in an address"
        page = text(hanna.get(found.headers["Location"]))
        assert f"/work/tasks/{aino.id}" in page and f"/work/tasks/{bertil.id}" not in page, query
        assert "998J" not in page, "the code is matched, never shown"
    by_surname = text(hanna.get("/work?client=klient"))
    assert f"/work/tasks/{bertil.id}" in by_surname and f"/work/tasks/{aino.id}" not in by_surname
    nobody = hanna.post("/work", {"client": "131052-308T"}).headers["Location"]
    assert "308T" not in nobody and "/work/tasks/" not in text(hanna.get(nobody)), "a code that is nobody's"
    assert f"/work/tasks/{aino.id}" not in text(hanna.get("/work?client=010150-998J")), "not by an address"
    assert f"/work/tasks/{aino.id}" in text(hanna.get("/work?client=asiakas-123")), "by the internal id"
    every = text(hanna.get("/work"))
    assert "020245-998P" not in every and "010150-998J" not in every


def test_the_inbox_names_pathways_and_clients_who_have_not_signed_in(api, sample, web_as, ctx):
    task = open_nurse_task(api, "asiakas-901")
    hanna = web_as("hoitaja.virtanen")
    hanna.get("/lang/en?next=/work")
    inbox = text(hanna.get("/work"))
    assert ('<td><span class="card-label">Pathway: </span><span lang="fi">Esitiedot ennen vastaanottoa</span></td>'
            in inbox), "the pathway's own name, marked Finnish on an English page"
    assert "Not signed in yet (asiakas-901)" in inbox
    assert ">Esitiedot ennen vastaanottoa</option>" in inbox, "the filter by name too"
    client = text(hanna.get("/work/clients/asiakas-901"))
    assert "<h1>Not signed in yet (asiakas-901)</h1>" in client
    assert "<title>Not signed in yet (asiakas-901)" in client
    page = text(hanna.get(f"/work/tasks/{task.id}"))
    select_box = page.split('<select id="assignee"')[1].split("</select>")[0]
    assert select_box.split("<option")[1].startswith(' value="">'), "a placeholder comes first"
    assert 'value="hoitaja.virtanen"' not in select_box and 'value="hoitaja.nieminen"' in select_box
    assert hanna.post(f"/work/tasks/{task.id}/assign", {"assignee": ""}).status_code == 422


def test_600_open_tasks_are_all_reachable_through_pages_with_the_right_totals(api, sample, web_as, ctx):
    copies(open_nurse_task(api, "asiakas-123"), 599, late=120)
    hanna = web_as("hoitaja.virtanen")
    hanna.get("/lang/en?next=/work")
    first = text(hanna.get("/work"))
    size = queries.INBOX_PAGE
    pages = -(-600 // size)
    assert "<h2>600 tasks</h2>" in first and f"Page 1 of {pages}" in first
    assert "All open (600)" in first and "Late (120)" in first and "Mine (0)" in first
    last_shown = 120 - size
    assert first.index("Tehtävä 119<") < first.index("Tehtävä 118<") < first.index(f"Tehtävä {last_shown}<"), \
        "the latest first"
    assert f"Tehtävä {last_shown - 1}<" not in first and "Late</span> was due 5 days ago" in first, "and in words"
    seen = []
    for page in range(1, pages + 1):
        seen += TASK_LINK.findall(hanna.get(f"/work?page={page}").get_data(as_text=True))
    assert len(seen) == len(set(seen)) == 600
    late = []
    for page in range(1, -(-120 // size) + 1):
        body = text(hanna.get(f"/work?due=overdue&page={page}"))
        assert "120 tasks" in body
        late += TASK_LINK.findall(body)
    assert len(set(late)) == 120
    assert f"Page {pages} of {pages}" in text(hanna.get("/work?page=99")), "past the end: the last page"


def test_a_code_of_a_client_the_team_does_not_follow_looks_like_nobody_s(api, sample, web_as, ctx):
    """Lauri's team follows no pathway of Aino's: her code gives him the same empty answer as a code that is
    nobody's, so the address does not tell that Polku knows it."""
    web_as("asiakas-123")
    open_nurse_task(api, "asiakas-123")
    lauri = web_as("laakari.korhonen")
    hers = lauri.post("/work", {"client": "010150-998J"}).headers["Location"]
    nobodys = lauri.post("/work", {"client": "131052-308T"}).headers["Location"]
    assert hers == nobodys and "asiakas-123" not in hers
