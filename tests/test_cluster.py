"""Several server processes on one PostgreSQL behind a round robin (``orchestrator.tools.cluster``), as in production
behind a load balancer: the work spreads over them, a process killed in the middle of it loses and doubles nothing,
a person signed in through one process is signed in at every other, and an instance stepped by one process and then
another is never stepped again from the first one's cached (stale) workflow.

The main test starts a few dozen instances of a pathway of two tasks with a timer between them, then completes the
tasks over HTTP through the proxy (a nurse's calls, each with an Idempotency-Key, retried as a client would when its
connection breaks) while the processes' schedulers fire the timers. One process is killed with SIGKILL when a third
of the first tasks are done. The database is the witness: each instance's history is exactly its start, two
completions and one timer firing. The proxy says which process answered each completion, the processes' logs how
many timers each fired, and every survivor's ``/readyz`` answers 200 throughout.
"""

import http.client
import json
import re
import socket
import socketserver
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from flask_migrate import stamp
from sqlalchemy import select

from config import TestConfig
from orchestrator.core import steps
from orchestrator.extensions import db
from orchestrator.models import Event, HumanTask, Instance, Timer
from orchestrator.tools.cluster import LOOPBACK, Backend, RoundRobin, cluster, free_port

from .conftest import ROOT, _config, dispose, make_app
from .fixtures.builders import HEAD, TAIL
from .fixtures.processes import EMPTY, STEPS
from .helpers import deploy_bpmn

postgresql_only = pytest.mark.skipif(
    not TestConfig.SQLALCHEMY_DATABASE_URI.startswith("postgresql"),
    reason="several server processes on one database: PostgreSQL only (POLKU_TEST_DATABASE_URL, "
           "e.g. under .ci/with-postgres)")

NURSE = "hoitaja.virtanen"  # of team Hoitaja, whose lane the tasks are in
CLIENT = "asiakas-123"  # whose pathways they are (a professional sees a client's tasks only)
FIRST, TIMER, SECOND = "ensimmainen", "odotus", "toinen"
INSTANCES, WORKERS = 48, 6
WAIT = timedelta(seconds=3)  # the timer's: the kill comes well before the first one falls due
SECRET = "cluster-test-secret-shared-by-every-process"
DEADLINE = 45  # seconds for an outcome before failing; not how long it should take
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def lane_pathway(pid: str, body: str, nodes: list[str]) -> str:
    refs = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in nodes)
    return (HEAD + f'<bpmn:process id="{pid}" name="{pid}" isExecutable="true"><bpmn:laneSet id="kaistat">'
            f'<bpmn:lane id="hoitaja" name="Hoitaja">{refs}</bpmn:lane></bpmn:laneSet>{body}</bpmn:process>' + TAIL)


def waiting_pathway() -> str:
    """start → task "ensimmainen" → a timer of ``WAIT`` → task "toinen" → end, all for team Hoitaja."""
    return lane_pathway("klusteri", f"""
  <bpmn:startEvent id="alku"/>
  <bpmn:userTask id="{FIRST}" name="Ensimmäinen"/>
  <bpmn:intermediateCatchEvent id="{TIMER}"><bpmn:timerEventDefinition><bpmn:timeDuration
    xsi:type="bpmn:tFormalExpression">"PT{WAIT.seconds}S"</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:intermediateCatchEvent>
  <bpmn:userTask id="{SECOND}" name="Toinen"/>
  <bpmn:endEvent id="loppu"/>
  <bpmn:sequenceFlow id="f1" sourceRef="alku" targetRef="{FIRST}"/>
  <bpmn:sequenceFlow id="f2" sourceRef="{FIRST}" targetRef="{TIMER}"/>
  <bpmn:sequenceFlow id="f3" sourceRef="{TIMER}" targetRef="{SECOND}"/>
  <bpmn:sequenceFlow id="f4" sourceRef="{SECOND}" targetRef="loppu"/>""",
                        ["alku", FIRST, TIMER, SECOND, "loppu"])


def chain_pathway(n: int) -> str:
    """start → tasks "t1" … "tn" → end, for team Hoitaja."""
    tasks = [f"t{i}" for i in range(1, n + 1)]
    nodes = ["alku", *tasks, "loppu"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
                    for i, (a, b) in enumerate(zip(nodes, nodes[1:], strict=False)))
    body = ('<bpmn:startEvent id="alku"/>' + "".join(f'<bpmn:userTask id="{t}" name="{t}"/>' for t in tasks)
            + '<bpmn:endEvent id="loppu"/>' + flows)
    return lane_pathway("ketju", body, nodes)


# --------------------------------------------------------------------------- set-up


@pytest.fixture
def seeding(app, ctx):
    """The app's database at this code's newest migration (the processes' ``/readyz`` asks), seeded without the
    per-step state check (slow; the servers do not make it either)."""
    stamp()  # the fixture's tables are the models' own: mark them as the newest migration's
    app.extensions["polku_store"].verify = False
    return app


def env_for(app, secret: str = SECRET) -> dict[str, str]:
    return {"POLKU_ENV": "development", "POLKU_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "POLKU_SECRET_KEY": secret, "POLKU_SCHEDULER": "serve", "POLKU_TIMER_SWEEP_SECONDS": "0.5",
            "POLKU_FORMS_DIR": str(ROOT / "forms")}


def started(version, count: int) -> dict[int, str]:
    """``count`` instances started in-process; their first task's id by instance."""
    ids = [steps.start(version, "tester", {}, None, CLIENT).id for _ in range(count)]
    first = dict(db.session.execute(select(HumanTask.instance_id, HumanTask.id)
                                    .where(HumanTask.instance_id.in_(ids))).all())
    db.session.remove()  # no transaction of ours stays open while the servers work
    assert sorted(first) == ids
    return first


# --------------------------------------------------------------------------- a client


class Completer:
    """Completes tasks through the proxy as a client would: a breaking connection (the process behind it died) is
    tried again with the same Idempotency-Key, so a completion that went through is not done twice."""

    def __init__(self, running):
        self.running = running
        self.answered_by: dict[tuple[int, str], int] = {}  # (instance, task spec) → the backend that answered 200
        self.by_backend = Counter()  # completions each backend answered
        self.lock = threading.Lock()
        self.retries = Counter()

    def complete(self, instance_id: int, spec: str, task_id: str) -> None:
        body = json.dumps({"data": {}})
        headers = {"X-Polku-Actor": NURSE, "Idempotency-Key": f"{instance_id}-{spec}",
                   "Content-Type": "application/json", "Connection": "close"}
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                status, answer, backend = self._post(f"/api/v1/tasks/{task_id}/complete", body, headers)
            except (OSError, http.client.HTTPException) as broken:
                reason = type(broken).__name__
            else:
                if status == 200:
                    with self.lock:
                        self.answered_by[instance_id, spec] = backend
                        self.by_backend[backend] += 1
                    return
                assert status == 503, f"{instance_id} {spec}: {status} {answer}"  # busy: try again
                reason = str(status)
            self.retries[reason] += 1
            assert time.monotonic() < deadline, f"{instance_id} {spec}: no answer in {DEADLINE} s ({reason})"
            time.sleep(0.05)

    def _post(self, path: str, body: str, headers: dict) -> tuple[int, bytes, int | None]:
        proxy = self.running.proxy
        connection = http.client.HTTPConnection(proxy.host, proxy.port, timeout=20)
        try:
            connection.connect()
            own_port = connection.sock.getsockname()[1]
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
            answer = response.read()
            return response.status, answer, proxy.backend_of(own_port)  # read while this port is still ours
        finally:
            connection.close()


class Readiness:
    """Polls each watched process's ``/readyz`` on entering, in a thread of its own meanwhile, and on leaving."""

    def __init__(self, backends: list[Backend], every: float = 0.2):
        self.watched, self.every = list(backends), every
        self.answers: dict[str, list[tuple[datetime, bool]]] = {b.name: [] for b in backends}  # when, and ready?
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="readyz", daemon=True)

    def __enter__(self) -> "Readiness":
        self._poll_once()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._poll_once()

    def unwatch(self, backend: Backend) -> None:
        self.watched = [b for b in self.watched if b is not backend]

    def _poll(self) -> None:
        while not self._stop.wait(self.every):
            self._poll_once()

    def _poll_once(self) -> None:
        for backend in self.watched:
            self.answers[backend.name].append((datetime.now(UTC), backend.ready(timeout=5)))


# --------------------------------------------------------------------------- reading the outcome


def history() -> Counter:
    """(instance, kind, what) of every event: the task's spec of a completion, the timer's of a firing."""
    found = Counter()
    with db.engine.connect() as conn:
        for instance_id, kind, spec, data in conn.execute(select(Event.instance_id, Event.kind, Event.spec,
                                                                 Event.data)):
            if kind == "timers_fired":
                found.update((instance_id, kind, timer["spec"]) for timer in data["timers"])
            else:
                found[instance_id, kind, spec] += 1
    return found


def moments(kind: str, spec: str | None = None) -> dict[int, datetime]:
    """When each instance's event of this kind (of this task) happened."""
    stmt = select(Event.instance_id, Event.at).where(Event.kind == kind)
    with db.engine.connect() as conn:
        return dict(conn.execute(stmt.where(Event.spec == spec) if spec else stmt).all())


def open_second_tasks(done: set[int]) -> dict[int, str]:
    with db.engine.connect() as conn:
        return {i: t for i, t in conn.execute(select(HumanTask.instance_id, HumanTask.id)
                                              .where(HumanTask.spec == SECOND, HumanTask.state == "open"))
                if i not in done}


def fired_by(backend: Backend) -> int:
    """The instances whose timers a process's scheduler logged having fired."""
    log = backend.log()
    return sum(int(n) for n in STEPS.findall(log)) - len(EMPTY.findall(log))


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"not within {DEADLINE} s: {what}"
        time.sleep(0.05)


def errors(backend: Backend) -> list[str]:
    return [line for line in backend.log().splitlines() if " ERROR " in line or line.startswith("Traceback")]


# --------------------------------------------------------------------------- the tests


@postgresql_only
def test_three_processes_share_the_work_and_one_killed_mid_load_loses_and_doubles_nothing(seeding, tmp_path):
    first = started(deploy_bpmn("klusteri", waiting_pathway()), INSTANCES)
    with cluster(3, env_for(seeding), threads=4, logs=tmp_path) as running, Readiness(running.backends) as ready:
        client, victim = Completer(running), running.backends[1]
        killed_at: list[datetime] = []

        def complete_first(instance_id: int) -> None:
            client.complete(instance_id, FIRST, first[instance_id])
            with client.lock:  # a third done, some by the victim: kill it
                if not killed_at and client.by_backend.total() >= INSTANCES // 3 and client.by_backend[1]:
                    ready.unwatch(victim)
                    killed_at.append(datetime.now(UTC))
                    victim.kill()

        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(complete_first, first))
            assert killed_at and not victim.alive()
            done: set[int] = set()
            deadline = time.monotonic() + DEADLINE
            while len(done) < INSTANCES:  # each second task as its timer opens it
                opened = open_second_tasks(done)
                list(pool.map(lambda item: client.complete(item[0], SECOND, item[1]), opened.items()))
                done |= opened.keys()
                assert time.monotonic() < deadline, f"second tasks done: {len(done)} of {INSTANCES}"
                time.sleep(0.1)
        survivors = [b for b in running.backends if b is not victim]
        wait_until(lambda: sum(fired_by(b) for b in survivors) >= INSTANCES, "the schedulers logged their runs")
        timers = {b.name: fired_by(b) for b in running.backends}
        logged_errors = {b.name: errors(b) for b in survivors}

    expected = Counter()
    for i in first:
        expected.update([(i, "started", None), (i, "task_completed", FIRST), (i, "timers_fired", TIMER),
                         (i, "task_completed", SECOND)])
    assert history() == expected, "each completion recorded once, each timer fired once, nothing else"
    with db.engine.connect() as conn:
        assert Counter(conn.execute(select(HumanTask.spec, HumanTask.state))) == \
            Counter({(FIRST, "completed"): INSTANCES, (SECOND, "completed"): INSTANCES})
        assert conn.execute(select(Timer.id)).all() == [], "no timer left"
        assert Counter(conn.execute(select(Instance.status)).scalars()) == Counter({"completed": INSTANCES})

    # The victim died before any timer fell due: those its own steps had set were fired by the others.
    first_done, fired = moments("task_completed", FIRST), moments("timers_fired")
    assert killed_at[0] < min(first_done.values()) + WAIT, "the kill must come before the first timer falls due: " \
        "this machine was too slow for the test's timing"
    victims_own = [i for (i, spec), b in client.answered_by.items() if spec == FIRST and b == 1]
    assert victims_own and all(fired[i] > killed_at[0] for i in victims_own), "its timers fired after its death"
    # Spread: every process answered completions (the victim until its death), more than one fired timers.
    assert set(client.by_backend) == {0, 1, 2}, f"completions answered by each process: {client.by_backend}"
    assert timers[victim.name] == 0 and sum(timers.values()) == INSTANCES, f"timers fired by process: {timers}"
    assert sum(1 for n in timers.values() if n) >= 2, f"timers fired by process: {timers}"
    assert logged_errors == {b.name: [] for b in survivors}

    # Ready all along: every survivor polled before the kill, meanwhile and at the end, never anything but 200.
    for backend in survivors:
        polls = ready.answers[backend.name]
        assert len(polls) >= 5 and polls[0][0] < killed_at[0] < polls[-1][0], polls
        assert [at for at, ok in polls if not ok] == [], f"{backend.name} was not ready at these moments"


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Two processes sharing a secret, and one with a secret of its own, on a database of their own: the small
    tests share them (starting processes is what takes time), each with its own rows."""
    folder = tmp_path_factory.mktemp("pair")
    app = make_app(_config(folder))
    app.extensions["polku_store"].verify = False
    with app.app_context():
        stamp()
    odd = Backend("odd-secret", free_port(), env_for(app, secret="another-secret-of-its-own"), folder, threads=2)
    try:
        with cluster(2, env_for(app), threads=2, logs=folder) as running:
            odd.wait_ready(time.monotonic() + DEADLINE)
            yield SimpleNamespace(app=app, one=running.backends[0], other=running.backends[1], odd=odd)
    finally:
        odd.stop()
        dispose(app)


@postgresql_only
def test_signed_in_through_one_process_and_a_form_posted_through_another(pair):
    browser = Browser()
    browser.sign_in(pair.other, pair.one, NURSE)
    page = browser.get(pair.other, "/work/settings")
    assert page.status == 200 and "Hanna Virtanen" in page.text, "signed in at the other process too"
    token = TOKEN.search(browser.get(pair.one, "/work/settings").text).group(1)  # a token the first one made
    address = "hanna.virtanen@hyvinvointialue.example"
    assert browser.post(pair.other, "/work/settings", {"digest": address, "language": "fi"}).status == 400, \
        "without its token a form is refused"
    saved = browser.post(pair.other, "/work/settings", {"digest": address, "language": "fi", "csrf_token": token})
    assert saved.status == 302 and "saved=1" in saved.location, saved.text[:500]
    assert address in browser.get(pair.one, "/work/settings").text

    # A process with another secret does not take the session: every process must share POLKU_SECRET_KEY.
    elsewhere = browser.get(pair.odd, "/work/settings")
    assert elsewhere.status == 302 and "/sign-in" in elsewhere.location


@postgresql_only
def test_an_instance_stepped_through_two_processes_in_turn_is_never_stepped_from_a_stale_cache(pair):
    with pair.app.app_context():
        version = deploy_bpmn("ketju", chain_pathway(4))
        instance_id = steps.start(version, "tester", {}, None, CLIENT).id
    for spec, backend in (("t1", pair.one), ("t2", pair.other), ("t3", pair.one), ("t4", pair.other)):
        # One's cached workflow after t1 stands before t2: reused for t3 it would not have t3 to complete.
        tasks = http_json(backend, "GET", f"/api/v1/tasks?instance={instance_id}")
        assert [t["spec"] for t in tasks] == [spec], tasks
        http_json(backend, "POST", f"/api/v1/tasks/{tasks[0]['id']}/complete", {"data": {}})
    with pair.app.app_context(), db.engine.connect() as conn:
        assert conn.execute(select(Event.kind, Event.spec).where(Event.instance_id == instance_id)
                            .order_by(Event.id)).all() == [("started", None)] + [("task_completed", f"t{i}")
                                                                                 for i in range(1, 5)]
        assert conn.execute(select(Instance.status).where(Instance.id == instance_id)).scalar() == "completed"


class Named(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(self.server.name)


def test_the_round_robin_gives_each_connection_to_the_next_backend_alive_that_takes_it():
    """No processes, no database: plain servers that answer their name, one of them said to be dead, and a port
    nobody listens on."""
    servers = [socketserver.TCPServer((LOOPBACK, 0), Named) for _ in range(3)]
    for server, name in zip(servers, (b"a", b"b", b"c"), strict=True):
        server.name = name
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    addresses = [(LOOPBACK, free_port()), *(server.server_address for server in servers)]
    proxy = RoundRobin(addresses, alive=lambda index: index != 3).start()  # "c" is dead as far as it knows
    try:
        answers, routes = [], []
        for _ in range(4):
            with socket.create_connection((LOOPBACK, proxy.port), timeout=5) as conn:
                answers.append(conn.recv(10))
                routes.append(proxy.backend_of(conn.getsockname()[1]))
        assert answers == [b"a", b"b", b"a", b"b"] and routes == [1, 2, 1, 2]
        assert proxy.connections == [0, 2, 2, 0] and proxy.refused == [2, 0, 0, 0]
    finally:
        proxy.stop()
        for server in servers:
            server.shutdown()
            server.server_close()

    nobody = RoundRobin([(LOOPBACK, free_port())]).start()
    try:
        with socket.create_connection((LOOPBACK, nobody.port), timeout=5) as conn:
            assert conn.recv(10) == b"", "no backend takes it: closed at once"
    finally:
        nobody.stop()


# --------------------------------------------------------------------------- plain HTTP to one process


def http_json(backend: Backend, method: str, path: str, body: dict | None = None):
    connection = http.client.HTTPConnection(backend.host, backend.port, timeout=20)
    try:
        connection.request(method, path, json.dumps(body) if body is not None else None,
                            {"X-Polku-Actor": NURSE, "Content-Type": "application/json"})
        response = connection.getresponse()
        answer = json.loads(response.read())
        assert response.status == 200, answer
        return answer
    finally:
        connection.close()


class Page:
    def __init__(self, response: http.client.HTTPResponse):
        self.status, self.location = response.status, response.getheader("Location", "")
        self.text = response.read().decode()


class Browser:
    """A browser's cookie for one site, sent to whichever process: one cookie, as behind a load balancer."""

    def __init__(self):
        self.cookie = ""

    def get(self, backend: Backend, path: str) -> Page:
        return self._send(backend, "GET", path)

    def post(self, backend: Backend, path: str, form: dict) -> Page:
        return self._send(backend, "POST", path, urlencode(form), {"Content-Type": "application/x-www-form-urlencoded"})

    def sign_in(self, page_from: Backend, post_to: Backend, person: str) -> None:
        """The sign-in page (and its CSRF token) from one process, the test sign-in posted to another."""
        token = TOKEN.search(self.get(page_from, "/sign-in").text).group(1)
        answer = self.post(post_to, "/sign-in/test", {"person": person, "csrf_token": token})
        assert answer.status == 302, answer.text[:500]

    def _send(self, backend: Backend, method: str, path: str, body: str | None = None,
              headers: dict | None = None) -> Page:
        connection = http.client.HTTPConnection(backend.host, backend.port, timeout=20)
        try:
            connection.request(method, path, body, {**(headers or {}), **({"Cookie": self.cookie} if self.cookie
                                                                            else {})})
            response = connection.getresponse()
            given = response.getheader("Set-Cookie")
            if given and given.startswith("polku_session="):
                self.cookie = given.split(";", 1)[0]
            return Page(response)
        finally:
            connection.close()
