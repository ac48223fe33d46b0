"""Writers at the same time, through a real server: no write ever answers 5xx.

Four threads complete tasks while others sign in and out, deploy over the API, post client messages
and save drafts, for at least 15 seconds, against the suite's database (a SQLite file in WAL mode, or
PostgreSQL). Every write is either done or refused with a 4xx that says why.
"""

import re
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select, text

from orchestrator.extensions import db
from orchestrator.models import HumanTask, Message, Pathway, PathwayVersion, TaskDraft

from .browser import served
from .helpers import sample_without_consent

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 15
COMPLETERS = 4
SERVICE = {"X-Polku-Actor": "laboratorio"}  # a system: may start and complete anything
DESIGNER = {"X-Polku-Actor": "suunnittelija.laine"}
ANSWERS = {
    "esitietolomake": {"oireet": "Yskä", "kesto_paivia": 2, "kipu": 3},
    "hoitajan_arvio": {"laboratorio": False, "viesti_asiakkaalle": "Tervetuloa vastaanotolle."},
    "asiakas_kuittaa": {"luettu": True, "palaute": 5},
}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Load:
    """What every thread saw: each response's kind and status, and any answer that broke the rules."""

    def __init__(self, base: str, until: float):
        self.base, self.until = base, until
        self.lock = threading.Lock()
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.broken: list[str] = []

    def going(self) -> bool:
        return time.monotonic() < self.until

    def note(self, kind: str, response: requests.Response) -> requests.Response:
        status = response.status_code
        with self.lock:
            self.statuses[kind][status] += 1
            if status >= 500:
                self.broken.append(f"{kind}: {status} {response.text[:300]}")
            elif status >= 400 and not _says_why(response):
                self.broken.append(f"{kind}: {status} without a reason: {response.text[:300]}")
        return response

    def done(self, kind: str) -> int:
        return sum(n for status, n in self.statuses[kind].items() if status < 400)


def _says_why(response: requests.Response) -> bool:
    if response.headers.get("Content-Type", "").startswith("application/json"):
        return bool(response.json().get("message"))
    return 'role="alert"' in response.text or "<h1>" in response.text


def _token(page: requests.Response) -> str:
    found = TOKEN.search(page.text)
    assert found, f"no CSRF token on {page.url}"
    return found.group(1)


def _signed_in(load: Load, person: str) -> tuple[requests.Session, str]:
    browser = requests.Session()
    token = _token(browser.get(f"{load.base}/sign-in"))
    load.note("sign-in", browser.post(f"{load.base}/sign-in/test", data={"person": person, "csrf_token": token},
                                      allow_redirects=False))
    return browser, _token(browser.get(f"{load.base}/me"))


def complete_tasks(load: Load, number: int) -> None:
    """Start an instance and complete each task it opens, again and again."""
    api = requests.Session()
    while load.going():
        started = load.note("start", api.post(f"{load.base}/api/v1/instances", headers=SERVICE, json={
            "pathway": "esitieto", "client_id": f"kuorma-{number}"}))
        tasks = started.json().get("tasks", []) if started.status_code == 201 else []
        while tasks and load.going():
            task = next((t for t in tasks if t["spec"] in ANSWERS), None)
            if task is None:
                break
            done = load.note("complete", api.post(f"{load.base}/api/v1/tasks/{task['id']}/complete", headers=SERVICE,
                                                  json={"data": ANSWERS[task["spec"]]}))
            tasks = done.json().get("tasks", []) if done.status_code == 200 else []


def sign_in_and_out(load: Load) -> None:
    people = ("hoitaja.nieminen", "laakari.korhonen", "yllapitaja.makinen")
    turn = 0
    while load.going():
        browser, token = _signed_in(load, people[turn % len(people)])
        load.note("sign-in", browser.post(f"{load.base}/sign-out", data={"csrf_token": token}, allow_redirects=False))
        turn += 1


def deploy_versions(load: Load) -> None:
    """Deploy a changed package again and again: each upload becomes a new version."""
    source = (ROOT / "bpmn" / "esitieto" / "esitieto.bpmn").read_text(encoding="utf-8")
    others = {name: (ROOT / "bpmn" / "esitieto" / name).read_bytes()
              for name in ("kiireellisyys.dmn", "suostumus.md", "laboratoriotulos.json")}
    api, round_ = requests.Session(), 0
    while load.going():
        round_ += 1
        # A new name each round: a new version (a comment or spacing would not be: versions are parsed content).
        changed = source.replace('name="Esitiedot ennen vastaanottoa"', f'name="Esitiedot {round_}"', 1)
        files = [("files", ("esitieto.bpmn", changed.encode())), *(("files", (n, b)) for n, b in others.items())]
        load.note("deploy", api.post(f"{load.base}/api/v1/pathways/kuormitus/versions", headers=DESIGNER,
                                     files=files))


def post_messages(load: Load, instance_id: int) -> None:
    browser, token = _signed_in(load, "asiakas-123")
    n = 0
    while load.going():
        n += 1
        load.note("message", browser.post(f"{load.base}/me/pathways/{instance_id}/messages", allow_redirects=False,
                                          data={"body": f"Kysymys {n}", "csrf_token": token}))


def save_drafts(load: Load, task_id: str, saved: list[str]) -> None:
    browser, token = _signed_in(load, "asiakas-456")
    n = 0
    while load.going():
        n += 1
        response = load.note("draft", browser.post(f"{load.base}/me/tasks/{task_id}", allow_redirects=False, data={
            "action": "draft", "oireet": f"Luonnos {n}", "csrf_token": token}))
        if response.status_code < 400:
            saved.append(f"Luonnos {n}")


def _setup(app) -> tuple[int, str]:
    """The sample pathways deployed; Aino on a professional pathway (she writes to its team), Bertil with
    an open form (he saves drafts of it)."""
    with app.app_context():
        sample_without_consent()  # started through the API at once
        if db.engine.dialect.name == "sqlite":
            assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        db.session.remove()
    with app.test_client() as client:
        aino = client.post("/api/v1/instances", headers=SERVICE, json={"pathway": "esitieto",
                                                                        "client_id": "asiakas-123"}).json
        bertil = client.post("/api/v1/instances", headers=SERVICE, json={"pathway": "esitieto",
                                                                          "client_id": "asiakas-456"}).json
    return aino["id"], bertil["tasks"][0]["id"]


def _run(load: Load, aino_instance: int, bertil_task: str, drafts: list[str]) -> None:
    workers = [threading.Thread(target=complete_tasks, args=(load, n)) for n in range(COMPLETERS)]
    workers += [threading.Thread(target=sign_in_and_out, args=(load,)),
                threading.Thread(target=deploy_versions, args=(load,)),
                threading.Thread(target=post_messages, args=(load, aino_instance)),
                threading.Thread(target=save_drafts, args=(load, bertil_task, drafts))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(SECONDS + 60)


@pytest.mark.slow
def test_writers_at_once_are_done_or_refused_with_a_reason_never_a_server_error(app):
    aino_instance, bertil_task = _setup(app)
    with served(app, threads=12) as base:
        began = time.monotonic()
        load, drafts = Load(base, began + SECONDS), []
        _run(load, aino_instance, bertil_task, drafts)
    elapsed = time.monotonic() - began
    assert elapsed >= SECONDS
    assert load.broken == [], f"{len(load.broken)} answers broke the rules, e.g. {load.broken[:3]}"
    for kind in ("start", "complete", "sign-in", "deploy", "message", "draft"):
        assert load.done(kind) >= 5, f"too few {kind} writes went through: {dict(load.statuses[kind])}"
    with app.app_context():  # what was answered as done is in the database
        versions = db.session.scalar(select(func.count()).select_from(PathwayVersion).join(Pathway)
                                     .where(Pathway.key == "kuormitus"))
        assert versions == load.done("deploy")
        sent = db.session.scalar(select(func.count()).select_from(Message).where(Message.instance_id == aino_instance))
        assert sent == load.done("message")
        draft = db.session.scalar(select(TaskDraft).where(TaskDraft.task_id == bertil_task))
        assert draft is not None and draft.data["oireet"] == drafts[-1]
        completed = db.session.scalar(select(func.count()).select_from(HumanTask)
                                      .where(HumanTask.state == "completed", HumanTask.completed_by == "laboratorio"))
        assert completed == load.done("complete")
        db.session.remove()
