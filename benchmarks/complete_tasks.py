"""Task-completion throughput: Polku over real HTTP next to the bare SpiffWorkflow cost per step.

What it measures, in one run:

1. Polku, served by waitress on 127.0.0.1 (``flask --app orchestrator serve``), against a fresh
   database (a new SQLite file, or PostgreSQL with ``--database postgresql``): the client-side wall time
   of ``POST /api/v1/tasks/<id>/complete`` for instances of a sequential process with 10 and with 500
   user tasks (completions per second, p50/p95 ms), through a lean keep-alive client, and the server's
   own time from its ``Server-Timing`` header. Each instance is started and completed step by step, so
   its workflow is always in the server's cache of live workflows ("warm").
2. With ``--cold``: a county's many active instances. ``--cold-instances`` (default 5,000) instances of
   each size are seeded first (``benchmarks/cold_instances.py``: a few started and advanced through the
   step transaction, the rest copied from them in SQL, each with ids of its own), at five stages of their
   lives, and the server's cache is made far smaller (``--cache``, default 64). After each warm
   completion the benchmark completes the open task of a seeded instance of the same size, taken in a
   random order, each once: the server never saw it, so it restores the workflow from the database
   ("cold"). Warm and cold figures come from the same minutes, side by side.
3. The bare SpiffWorkflow cost of one step for the same two processes, in memory, the way a plain
   app would do it with the standard ``BpmnWorkflow`` and ``BpmnWorkflowSerializer``:
   ``deserialize_json`` -> run the READY user task -> ``do_engine_steps`` -> ``serialize_json``,
   with the spec inside the JSON. The 10-task instances run between Polku's, so both sides of the
   ratio come from the same minutes (this kind of machine drifts in speed by up to 2x); the 10- and
   500-task instances take turns over the whole run for the same reason. For
   reference also a variant with the spec kept apart (serialized without it, parsed and put back
   before each restore), with ``--spec-apart``.
4. The cost of one small commit: on SQLite an UPDATE of one row (WAL, synchronous=NORMAL, as Polku); on
   PostgreSQL the same through its driver.

Targets checked for the client's and for the server's view of each completion (MISSED is printed
when one does not hold; ``--strict`` exits 1 when a client-side one does not):

* per-completion p50 <= 3 x (bare engine p50 per step + one commit), for each process size;
* Polku's p50 at 500-task instances <= 1.5 x its p50 at 10-task instances;
* reference: spiffworkflow-backend does about 50 ms per completion on this kind of machine;
  Polku should be at least 10x faster (p50), for each size;
* with ``--cold``: cold p50 <= 2 x warm p50 at 10-task instances, <= 3 x at 500-task instances.

``--processes N`` serves through the multi-process launcher (``orchestrator.tools.cluster``: N server
processes on the PostgreSQL database behind its round-robin proxy), ``--clients C`` runs C clients at
once, each with its own connection (the proxy keeps a connection with one process); the report then
also gives completions per second over the whole measured run, to set 1 and 3 processes side by side.

Run it from the repository root (about half a minute; with ``--cold`` about three minutes on SQLite,
most of it seeding, on a 2-core machine)::

    .venv/bin/python benchmarks/complete_tasks.py [--instances10 60] [--instances500 2] [--spec-apart] [--strict]
        [--cold [--cold-instances 5000] [--cache 64]] [--database sqlite|postgresql]
    .ci/with-postgres .venv/bin/python benchmarks/complete_tasks.py --database postgresql --cold
    .ci/with-postgres .venv/bin/python benchmarks/complete_tasks.py --database postgresql --processes 3 --clients 3

The last line of output is ``RESULT {...}``: every figure as one JSON object.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import requests
from figures import Timings, machine_speed_ms
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import create_engine
from timers import emptied

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
PROCESS_ID = "seq"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
FORM_NAME = "vaihe.json"
# Each step answers one integer field, validated as a real form would be.
FORM = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
        "properties": {"v": {"type": "integer", "minimum": 0}}, "required": ["v"], "additionalProperties": False}
INTERLEAVE_UP_TO = 50  # bare-engine instances this small run between Polku instances
REFERENCE_MS = 50.0  # spiffworkflow-backend, per task completion, on this kind of machine
REFERENCE_FACTOR = 10.0
ENGINE_FACTOR = 3.0
GROWTH_FACTOR = 1.5
COLD_FACTOR = {10: 2.0, 500: 3.0}  # cold p50 <= this x warm p50, by instance size
VENV_BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent

# SpiffWorkflow parses (and restores specs) recursively, one level per node in a sequence.
sys.setrecursionlimit(20_000)


# --------------------------------------------------------------------------- figures

# --------------------------------------------------------------------------- BPMN

def sequential_bpmn(n: int) -> str:
    """One executable process: start -> t1 -> ... -> tN -> end, each user task with the form FORM_NAME."""
    form = (f'<extensionElements><spiff:properties><spiff:property name="formJsonSchemaFilename" '
            f'value="{FORM_NAME}"/></spiff:properties></extensionElements>')
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<definitions xmlns="{BPMN_NS}" xmlns:spiff="{SPIFF_NS}" id="seq{n}_definitions" '
        'targetNamespace="http://polku.example/bench">',
        f'  <process id="{PROCESS_ID}" name="Sequential {n}" isExecutable="true">',
        '    <startEvent id="start"><outgoing>f0</outgoing></startEvent>',
    ]
    for i in range(1, n + 1):
        lines.append(f'    <userTask id="t{i}" name="Task {i}">{form}<incoming>f{i - 1}</incoming>'
                     f'<outgoing>f{i}</outgoing></userTask>')
    lines.append(f'    <endEvent id="end"><incoming>f{n}</incoming></endEvent>')
    nodes = ["start", *(f"t{i}" for i in range(1, n + 1)), "end"]
    for i, (source, target) in enumerate(pairwise(nodes)):
        lines.append(f'    <sequenceFlow id="f{i}" sourceRef="{source}" targetRef="{target}"/>')
    lines += ["  </process>", "</definitions>", ""]
    return "\n".join(lines)


def write_packages(root: Path, sizes: tuple[int, ...]) -> Path:
    """<root>/seqN/seqN.bpmn for each size; the folder name is the pathway key."""
    for n in sizes:
        folder = root / f"seq{n}"
        folder.mkdir(parents=True)
        (folder / f"seq{n}.bpmn").write_text(sequential_bpmn(n), encoding="utf-8")
        (folder / FORM_NAME).write_text(json.dumps(FORM), encoding="utf-8")
    return root


# --------------------------------------------------------------------------- Polku over HTTP

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flask_cmd(*args: str) -> list[str]:
    return [str(VENV_BIN / "flask"), "--app", "orchestrator", *args]


def fresh_database(kind: str, tmp: Path) -> str:
    """An empty database: a new SQLite file, or PostgreSQL's public schema dropped and made again (the database
    POLKU_TEST_DATABASE_URL names; ``.ci/with-postgres`` starts a throwaway one). Returns its URL."""
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'polku.db'}"
    url = os.environ.get("POLKU_TEST_DATABASE_URL")
    if not url:
        raise SystemExit("--database postgresql needs POLKU_TEST_DATABASE_URL (run under .ci/with-postgres)")
    return emptied(url)


def server_env(tmp: Path, url: str, cache_size: int | None = None, scheduler: bool = True) -> dict:
    forms = tmp / "forms"
    forms.mkdir(exist_ok=True)
    return {"POLKU_ENV": "development", **os.environ, "POLKU_DATABASE_URL": url, "POLKU_FORMS_DIR": str(forms),
            **({"POLKU_ENGINE_CACHE_SIZE": str(cache_size)} if cache_size else {}),
            **({} if scheduler else {"POLKU_SCHEDULER": "off"})}


def migrate_and_deploy(tmp: Path, url: str, packages: Path) -> None:
    env = server_env(tmp, url)
    for args in (("db", "upgrade"), ("deploy", str(packages))):
        done = subprocess.run(flask_cmd(*args), cwd=REPO, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        if args[0] == "deploy":
            print(done.stdout.strip())


@contextmanager
def polku_server(tmp: Path, url: str, threads: int, cache_size: int | None, scheduler: bool = True):
    """Serve Polku (migrated and deployed already) on a free loopback port; yield its base URL."""
    port = free_port()
    log_path = tmp / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(flask_cmd("serve", "--host", "127.0.0.1", "--port", str(port),
                                            "--threads", str(threads)),
                                  cwd=tmp, env=server_env(tmp, url, cache_size, scheduler), stdout=log,
                                  stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, server, log_path)
        yield base, server, log_path
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@contextmanager
def polku_cluster(tmp: Path, url: str, threads: int, cache_size: int | None, scheduler: bool, processes: int):
    """``processes`` server processes behind the launcher's round-robin proxy (``orchestrator.tools.cluster``),
    each with ``threads`` threads and its own workflow cache; yield the proxy's base URL."""
    port = free_port()
    log_path = tmp / "cluster.log"
    with open(log_path, "w") as log:
        launcher = subprocess.Popen([sys.executable, "-m", "orchestrator.tools.cluster", "--processes", str(processes),
                                     "--port", str(port), "--threads", str(threads), "--logs", str(tmp)],
                                    cwd=REPO, env=server_env(tmp, url, cache_size, scheduler), stdout=log,
                                    stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, launcher, log_path, timeout=30.0 + 15.0 * processes)
        yield base, launcher, log_path
    finally:
        launcher.terminate()  # it stops its processes
        try:
            launcher.wait(timeout=30)
        except subprocess.TimeoutExpired:
            launcher.kill()
            launcher.wait()


def served(tmp: Path, url: str, args, cold: bool):
    """One server process (waitress) as usual; with ``--processes`` the launcher's processes behind its proxy.

    Cold: no timer scheduler. Its runs also do work by the clock that reads whole tables (metrics), which on
    the seeded database held the write lock for many seconds; no seeded pathway has a timer.
    """
    cache = args.cache if cold else None
    if args.processes:
        return polku_cluster(tmp, url, args.threads, cache, not cold, args.processes)
    return polku_server(tmp, url, args.threads, cache, scheduler=not cold)


def server_logs(tmp: Path) -> str:
    return "".join(path.read_text(errors="replace") for path in sorted(tmp.glob("*.log")))


def wait_until_up(base: str, server: subprocess.Popen, log_path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode}:\n{log_path.read_text()}")
        try:
            if requests.get(f"{base}/api/v1/openapi.json", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not answer within {timeout:.0f} s:\n{log_path.read_text()}")


def timed_completion(session, url: str, value: int, run):
    """POST one completion, its client-side time, response size and server time recorded in ``run``."""
    t0 = time.perf_counter()
    response = session.post(url, json={"data": {"v": value}})
    run.client.add(time.perf_counter() - t0)
    run.response_bytes.append(len(response.content))
    server = server_timing_ms(response.headers.get("Server-Timing"))
    if server is not None:
        run.server.ms.append(server)
    return response


def server_timing_ms(header: str | None) -> float | None:
    """The duration in a Server-Timing header: the 'total'/'app' metric if named, else the first."""
    if not header:
        return None
    durations = {}
    for metric in header.split(","):
        name, *params = [p.strip() for p in metric.split(";")]
        for param in params:
            if param.startswith("dur="):
                with suppress(ValueError):
                    durations[name] = float(param[4:])
    for name in ("total", "app", "step"):
        if name in durations:
            return durations[name]
    return next(iter(durations.values()), None)


@dataclass
class PolkuRun:
    client: Timings = field(default_factory=Timings)
    server: Timings = field(default_factory=Timings)
    start: Timings = field(default_factory=Timings)
    response_bytes: list[int] = field(default_factory=list)


class JsonClient:
    """A lean keep-alive HTTP/1.1 JSON client, so the client library's own cost stays out of the figures."""

    @dataclass
    class Response:
        status_code: int
        headers: dict
        content: bytes

        @property
        def text(self) -> str:
            return self.content.decode("utf-8", "replace")

        def json(self):
            return json.loads(self.content)

    def __init__(self, base: str):
        parsed = urllib.parse.urlsplit(base)
        self.connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)

    def request(self, method: str, url: str, body=None) -> JsonClient.Response:
        path = urllib.parse.urlsplit(url).path
        # A system caller (the development stand-in for a service token), as an integration completes tasks.
        headers = {"X-Polku-Actor": "bench", **({"Content-Type": "application/json"} if body is not None else {})}
        self.connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        raw = self.connection.getresponse()
        return self.Response(raw.status, dict(raw.getheaders()), raw.read())

    def post(self, url: str, json=None):
        return self.request("POST", url, json)

    def get(self, url: str):
        return self.request("GET", url)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.connection.close()


def run_polku_instance(session: JsonClient, base: str, pathway: str, n: int,
                       steps: int | None = None, after_step: Callable[[], None] | None = None) -> PolkuRun:
    """Start one instance and complete its n tasks in order (or only the first steps), timing each;
    ``after_step`` runs after each timed completion (the cold mode's completion of another instance)."""
    run = PolkuRun()
    t0 = time.perf_counter()
    response = session.post(f"{base}/api/v1/instances", json={"pathway": pathway})
    run.start.add(time.perf_counter() - t0)
    body = expect(response, 201, "start")
    for i in range(n if steps is None else min(steps, n)):
        tasks = body["tasks"]
        if len(tasks) != 1:
            raise RuntimeError(f"{pathway} instance {body['id']}: expected one open task before step {i + 1}, "
                               f"got {len(tasks)}")
        response = timed_completion(session, f"{base}/api/v1/tasks/{tasks[0]['id']}/complete", i + 1, run)
        body = expect(response, 200, f"complete step {i + 1}")
        if after_step is not None:
            after_step()
    if steps is not None and steps < n:
        return run
    if body["status"] != "completed" or body["tasks"]:
        raise RuntimeError(f"{pathway} instance {body['id']} not completed after {n} steps: {body['status']}")
    return run


def expect(response: JsonClient.Response, status: int, what: str) -> dict:
    if response.status_code != status:
        raise RuntimeError(f"{what}: HTTP {response.status_code} (expected {status}): {response.text[:2000]}")
    return response.json()


def bench_floor(session: JsonClient, base: str, repeats: int) -> Timings:
    """The HTTP stack's floor: GET an unknown task (one primary-key query, a small 404 JSON body)."""
    timings = Timings()
    for i in range(repeats + 20):
        t0 = time.perf_counter()
        response = session.get(f"{base}/api/v1/tasks/00000000-0000-0000-0000-000000000000")
        if i >= 20:
            timings.add(time.perf_counter() - t0)
        if response.status_code != 404:
            raise RuntimeError(f"floor request: HTTP {response.status_code} (expected 404): {response.text[:500]}")
    return timings


class ColdSet:
    """Seeded instances (benchmarks/cold_instances.py), completed in a random order, each once.

    None of them is in the server's workflow cache: the server never saw them before, and each one is taken
    once, so each completion restores its instance from the database.
    """

    def __init__(self, seeded: dict, seed: int = 1):
        shuffle = random.Random(seed).shuffle
        self.left = {int(n): [tuple(pair) for pair in pairs] for n, pairs in seeded["sizes"].items()}
        for pairs in self.left.values():
            shuffle(pairs)
        self.runs = {n: PolkuRun() for n in self.left}
        self.seeding = seeded["seconds"]
        self.ran_out: set[int] = set()
        self.lock = threading.Lock()  # clients in threads take from the same instances

    def complete(self, session: JsonClient, base: str, n: int) -> None:
        with self.lock:
            if not self.left.get(n):
                self.ran_out.add(n)
                return
            instance_id, task_id = self.left[n].pop()
        response = timed_completion(session, f"{base}/api/v1/tasks/{task_id}/complete", 1, self.runs[n])
        body = expect(response, 200, f"cold seq{n} instance {instance_id}: complete {task_id}")
        if body["id"] != instance_id:
            raise RuntimeError(f"completed task {task_id} of instance {body['id']}, expected instance {instance_id}")


@dataclass
class Measured:
    polku: dict[int, PolkuRun]
    bare: dict[int, BareRun]
    floor: Timings
    seconds: float = 0.0  # wall time of the measured completions (all clients)
    clients: int = 1

    def completions(self, cold: ColdSet | None) -> int:
        runs = [*self.polku.values(), *(cold.runs.values() if cold is not None else ())]
        return sum(len(run.client.ms) for run in runs)


def bench_polku(base: str, counts: dict[int, int], warmup_steps: int, interleave: int,
                cold: ColdSet | None = None, clients: int = 1) -> Measured:
    """Polku's completions; for sizes up to `interleave`, a bare-engine instance runs after each Polku one.

    Both kinds of interleaving make the figures of a ratio come from the same minutes of a machine
    whose speed drifts: the sizes take turns in rounds, and the bare engine runs next to Polku. With
    ``cold``, each warm completion is followed by the completion of a cold instance of the same size.
    With more than one client, each is a thread with its own keep-alive connection (a connection stays with
    one server process behind the launcher's proxy) running its share of the rounds; the bare engine then
    runs after them, not between.
    """
    results = {n: PolkuRun() for n in counts}
    bare = {n: BareRun() for n in counts if n <= interleave and clients == 1}
    with JsonClient(base) as session:
        floor = bench_floor(session, base, 200)
    order = rounds(counts)
    failed: list[BaseException] = []

    def client(share: list[int]) -> None:
        try:
            with JsonClient(base) as session:
                for n in counts:
                    run_polku_instance(session, base, f"seq{n}", n, warmup_steps)  # warm-up, not counted
                ready.wait()
                for n in share:
                    after = (lambda n=n: cold.complete(session, base, n)) if cold is not None else None
                    one = run_polku_instance(session, base, f"seq{n}", n, after_step=after)
                    with lock:
                        total = results[n]
                        total.client.extend(one.client)
                        total.server.extend(one.server)
                        total.start.extend(one.start)
                        total.response_bytes += one.response_bytes
                    if n in bare:
                        bare[n].extend(bench_bare(n, spec_apart=False))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failed.append(exc)
            ready.abort()

    lock, ready = threading.Lock(), threading.Barrier(clients + 1)
    threads = [threading.Thread(target=client, args=(order[k::clients],), daemon=True) for k in range(clients)]
    for thread in threads:
        thread.start()
    with suppress(threading.BrokenBarrierError):
        ready.wait()  # every client warmed up
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    if failed:
        raise failed[0]
    return Measured(results, bare, floor, time.perf_counter() - began, clients)


def rounds(counts: dict[int, int]) -> list[int]:
    """The instance sizes in the order to run them: every size spread evenly over the whole run."""
    order = [(i / count, n) for n, count in counts.items() for i in range(count)]
    return [n for _, n in sorted(order)]


# --------------------------------------------------------------------------- bare SpiffWorkflow

@dataclass
class BareRun:
    step: Timings = field(default_factory=Timings)
    load: Timings = field(default_factory=Timings)
    run: Timings = field(default_factory=Timings)
    save: Timings = field(default_factory=Timings)
    state_bytes: list[int] = field(default_factory=list)

    def extend(self, other: BareRun) -> None:
        for name in ("step", "load", "run", "save"):
            getattr(self, name).extend(getattr(other, name))
        self.state_bytes += other.state_bytes


def parse_specs(n: int):
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(etree.fromstring(sequential_bpmn(n).encode()), filename=f"seq{n}.bpmn")
    return parser.get_spec(PROCESS_ID), parser.get_subprocess_specs(PROCESS_ID)


def ready_user_task(workflow: BpmnWorkflow):
    tasks = workflow.get_tasks(state=TaskState.READY, manual=True)
    if len(tasks) != 1:
        raise RuntimeError(f"expected one READY user task, got {len(tasks)}")
    return tasks[0]


def bench_bare(n: int, spec_apart: bool) -> BareRun:
    """Run a whole instance of n steps, restoring and saving the workflow as JSON around each step.

    spec_apart=False: the spec travels inside the JSON (serializer.serialize_json/deserialize_json).
    spec_apart=True: the JSON holds no spec; before each restore the stored spec JSON is parsed and
    put back into the document (the converters consume the dict, so it cannot be reused as is).
    """
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    spec, subprocess_specs = parse_specs(n)
    workflow = BpmnWorkflow(spec, subprocess_specs)
    workflow.do_engine_steps()
    spec_json = None
    if spec_apart:
        saved, spec_json = save_without_spec(serializer, workflow)
    else:
        saved = serializer.serialize_json(workflow)
    result = BareRun()
    for i in range(n):
        t0 = time.perf_counter()
        workflow = load_with_spec(serializer, saved, spec_json) if spec_apart else serializer.deserialize_json(saved)
        t1 = time.perf_counter()
        task = ready_user_task(workflow)
        task.data.update({"v": i + 1})
        task.run()
        workflow.do_engine_steps()
        t2 = time.perf_counter()
        saved = save_without_spec(serializer, workflow)[0] if spec_apart else serializer.serialize_json(workflow)
        t3 = time.perf_counter()
        result.load.add(t1 - t0)
        result.run.add(t2 - t1)
        result.save.add(t3 - t2)
        result.step.add(t3 - t0)
        result.state_bytes.append(len(saved))
    if not workflow.is_completed():
        raise RuntimeError(f"bare seq{n} not completed after {n} steps")
    return result


def save_without_spec(serializer: BpmnWorkflowSerializer, workflow: BpmnWorkflow) -> tuple[str, str]:
    serializer.registry._encoder_mode = True  # what serialize_json does around to_dict
    try:
        dct = serializer.to_dict(workflow)
        dct[serializer.VERSION_KEY] = serializer.VERSION
        spec = {"spec": dct.pop("spec"), "subprocess_specs": dct.pop("subprocess_specs")}
        return json.dumps(dct, cls=serializer._encoder_cls), json.dumps(spec, cls=serializer._encoder_cls)
    finally:
        serializer.registry._encoder_mode = False


def load_with_spec(serializer: BpmnWorkflowSerializer, saved: str, spec_json: str) -> BpmnWorkflow:
    dct = json.loads(saved, cls=serializer.json_decoder_cls)
    dct.update(json.loads(spec_json, cls=serializer.json_decoder_cls))
    serializer.migrate(dct)
    return serializer.from_dict(dct)


# --------------------------------------------------------------------------- SQLite commit

def bench_commit(path: Path, repeats: int) -> Timings:
    """BEGIN IMMEDIATE; UPDATE one row; COMMIT, with Polku's pragmas (WAL, synchronous=NORMAL)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL", "busy_timeout=10000"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
        conn.execute("INSERT OR REPLACE INTO counter VALUES (1, 0)")
        timings = Timings()
        for i in range(repeats + 50):
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE counter SET value = ? WHERE id = 1", (i,))
            conn.execute("COMMIT")
            if i >= 50:  # the first ones warm the page cache and the WAL file
                timings.add(time.perf_counter() - t0)
        return timings
    finally:
        conn.close()


def bench_commit_postgresql(url: str, repeats: int) -> Timings:
    """BEGIN; UPDATE one row; COMMIT on the PostgreSQL server Polku uses, through its driver."""
    engine = create_engine(url)
    try:
        conn = engine.raw_connection()
        try:
            cursor = conn.cursor()
            cursor.execute("CREATE TABLE IF NOT EXISTS bench_counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
            cursor.execute("INSERT INTO bench_counter VALUES (1, 0) ON CONFLICT (id) DO NOTHING")
            conn.commit()
            timings = Timings()
            for i in range(repeats + 50):
                t0 = time.perf_counter()
                cursor.execute("UPDATE bench_counter SET value = %s WHERE id = 1", (i,))
                conn.commit()  # the driver began the transaction with the UPDATE
                if i >= 50:
                    timings.add(time.perf_counter() - t0)
            cursor.execute("DROP TABLE bench_counter")
            conn.commit()
            return timings
        finally:
            conn.close()
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- report

@dataclass
class Check:
    name: str
    value: float
    limit: float
    unit: str = "ms"

    @property
    def holds(self) -> bool:
        return self.value <= self.limit

    def line(self) -> str:
        verdict = "ok" if self.holds else "MISSED"
        return f"  [{verdict:>6}] {self.name}: {self.value:.2f} {self.unit} <= {self.limit:.2f} {self.unit}"


def checks(polku: dict[int, dict], bare: dict[int, dict], commit_p50: float, view: str = "client") -> list[Check]:
    """The targets, for one view of Polku's figures: "client" (round trip) or "server" (Server-Timing)."""
    found = []
    for n in polku:
        budget = ENGINE_FACTOR * (bare[n]["p50_ms"] + commit_p50)
        found.append(Check(f"seq{n}: Polku p50 ({view}) <= {ENGINE_FACTOR:g} x (bare p50 {bare[n]['p50_ms']:.2f} + "
                           f"commit {commit_p50:.3f})", polku[n]["p50_ms"], budget))
    if len(polku) == 2:
        small, large = sorted(polku)
        found.append(Check(f"Polku p50 ({view}) at {large} tasks <= {GROWTH_FACTOR:g} x p50 at {small} tasks",
                           polku[large]["p50_ms"], GROWTH_FACTOR * polku[small]["p50_ms"]))
    for n in polku:
        found.append(Check(f"seq{n}: reference {REFERENCE_MS:g} ms / Polku p50 ({view}) >= {REFERENCE_FACTOR:g}x "
                           f"(shown as Polku p50 <= {REFERENCE_MS / REFERENCE_FACTOR:g} ms)",
                           polku[n]["p50_ms"], REFERENCE_MS / REFERENCE_FACTOR))
    return found


def cold_checks(warm: dict[int, dict], cold: dict[int, dict], view: str = "client") -> list[Check]:
    """Cold completions (instance restored from the database) against warm ones of the same size and run."""
    return [Check(f"seq{n}: cold p50 ({view}) <= {COLD_FACTOR[n]:g} x warm p50 {warm[n]['p50_ms']:.2f}",
                  cold[n]["p50_ms"], COLD_FACTOR[n] * warm[n]["p50_ms"])
            for n in cold if n in COLD_FACTOR and cold[n].get("n") and n in warm]


def ratio(a: Timings, b: Timings, p: float) -> float:
    return round(a.percentile(p) / b.percentile(p), 2) if a.ms and b.ms else float("nan")


def fmt_row(label: str, s: dict, extra: str = "") -> str:
    if not s.get("n"):
        return f"  {label:<44} (no data)"
    return (f"  {label:<44} {s['n']:>6} {s['per_s']:>9.1f} {s['mean_ms']:>9.2f} {s['p50_ms']:>9.2f} "
            f"{s['p95_ms']:>9.2f} {s['max_ms']:>9.2f}  {extra}")


def print_report(polku: dict[int, PolkuRun], floor: Timings, bare: dict[int, BareRun],
                 bare_apart: dict[int, BareRun], commit: Timings, found: list[Check], database: str,
                 cold: ColdSet | None) -> None:
    print()
    print("=" * 110)
    print(f"  {'what':<44} {'n':>6} {'per s':>9} {'mean ms':>9} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")
    print("-" * 110)
    print(fmt_row("HTTP floor: GET unknown task (404)", floor.summary()))
    print_polku_rows(polku, cold)
    for label, runs in (("bare engine, spec in JSON", bare), ("bare engine, spec apart", bare_apart)):
        for n, run in runs.items():
            print(fmt_row(f"{label}, seq{n} step", run.step.summary(),
                          f"state {max(run.state_bytes) / 1024:.0f} KiB max"))
            for part in ("load", "run", "save"):
                print(fmt_row(f"    {part}", getattr(run, part).summary()))
    print(fmt_row("SQLite commit (WAL, synchronous=NORMAL)" if database == "sqlite" else "PostgreSQL commit",
                  commit.summary()))
    print("-" * 110)
    if cold is not None:
        print_cold_ratios(polku, cold)
    for n, run in polku.items():
        p50 = run.client.percentile(50)
        print(f"  seq{n}: reference spiffworkflow-backend {REFERENCE_MS:g} ms / Polku p50 {p50:.2f} ms = "
              f"{REFERENCE_MS / p50:.1f}x faster")
    print("Targets:")
    for check in found:
        print(check.line())
    missed = [c for c in found if not c.holds]
    print("ALL TARGETS MET" if not missed else f"MISSED {len(missed)} of {len(found)} target(s)")
    print("=" * 110)


def print_polku_rows(polku: dict[int, PolkuRun], cold: ColdSet | None) -> None:
    for n, run in polku.items():
        sent = run.response_bytes
        print(fmt_row(f"Polku HTTP complete, seq{n} (client)", run.client.summary(),
                      f"response {min(sent) / 1024:.1f}-{max(sent) / 1024:.1f} KiB"))
        if run.server.ms:
            print(fmt_row(f"Polku HTTP complete, seq{n} (Server-Timing)", run.server.summary()))
        print(fmt_row(f"Polku HTTP start instance, seq{n}", run.start.summary()))
        if cold is not None and n in cold.runs:
            print(fmt_row(f"Polku HTTP complete, seq{n} cold (client)", cold.runs[n].client.summary()))
            if cold.runs[n].server.ms:
                print(fmt_row(f"Polku HTTP complete, seq{n} cold (Server-Timing)", cold.runs[n].server.summary()))
    if polku and not any(run.server.ms for run in polku.values()):
        print("  (server sent no Server-Timing header: server-side time not available)")


def print_cold_ratios(polku: dict[int, PolkuRun], cold: ColdSet) -> None:
    for n, run in cold.runs.items():
        if n in polku and run.client.ms:
            warm = polku[n]
            print(f"  seq{n}: cold / warm (client) p50 {ratio(run.client, warm.client, 50):.2f}, "
                  f"p95 {ratio(run.client, warm.client, 95):.2f}; (Server-Timing) p50 "
                  f"{ratio(run.server, warm.server, 50):.2f}, p95 {ratio(run.server, warm.server, 95):.2f}")
    for n in sorted(cold.ran_out):
        print(f"  seq{n}: the cold instances ran out (fewer cold completions than warm ones)")


def result_json(args, polku, floor, bare, bare_apart, commit, found, cold: ColdSet | None, speed: list) -> dict:
    result = {
        "database": args.database,
        "machine_speed_ms": speed,
        "http_floor_get_unknown_task": floor.summary(),
        "polku": {f"seq{n}": {"client": r.client.summary(), "server_timing": r.server.summary(),
                              "start": r.start.summary(),
                              "response_kib_mean": round(statistics.fmean(r.response_bytes) / 1024, 2),
                              "instances": args.instances10 if n == 10 else args.instances500}
                  for n, r in polku.items()},
        "bare_spec_in_json": {f"seq{n}": {"step": r.step.summary(), "load": r.load.summary(),
                                          "run": r.run.summary(), "save": r.save.summary()}
                              for n, r in bare.items()},
        "bare_spec_apart": {f"seq{n}": {"step": r.step.summary(), "load": r.load.summary(),
                                        "run": r.run.summary(), "save": r.save.summary()}
                            for n, r in bare_apart.items()},
        "sqlite_commit" if args.database == "sqlite" else "postgresql_commit": commit.summary(),
        "reference_ms": REFERENCE_MS,
        "speedup_vs_reference": {f"seq{n}": round(REFERENCE_MS / r.client.percentile(50), 2)
                                 for n, r in polku.items()},
        "targets": [{"name": c.name, "value": round(c.value, 3), "limit": round(c.limit, 3), "holds": c.holds}
                    for c in found],
        "all_met": all(c.holds for c in found),
    }
    if cold is not None:
        result["cold"] = {"instances_per_size": args.cold_instances, "cache_size": args.cache,
                          "models_per_size": args.models, "seeding_s": cold.seeding, **{
                              f"seq{n}": {"client": r.client.summary(), "server_timing": r.server.summary(),
                                          "ratio_to_warm": {"client_p50": ratio(r.client, polku[n].client, 50),
                                                            "client_p95": ratio(r.client, polku[n].client, 95),
                                                            "server_p50": ratio(r.server, polku[n].server, 50),
                                                            "server_p95": ratio(r.server, polku[n].server, 95)}}
                              for n, r in cold.runs.items() if n in polku}}
    return result


# --------------------------------------------------------------------------- main

def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                        help="sqlite (a new file) or postgresql (POLKU_TEST_DATABASE_URL, its schema made anew)")
    parser.add_argument("--instances10", type=int, default=60, help="measured 10-task instances (default 60)")
    parser.add_argument("--instances500", type=int, default=2, help="measured 500-task instances (default 2)")
    parser.add_argument("--warmup-steps", type=int, default=50,
                        help="completions in the uncounted warm-up instance of each size (default 50)")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads (default 4)")
    parser.add_argument("--commits", type=int, default=1000, help="commits to time (default 1000)")
    parser.add_argument("--spec-apart", action="store_true",
                        help="also time the bare engine with the spec stored apart (adds about a minute)")
    parser.add_argument("--cold", action="store_true",
                        help="also complete tasks of many seeded instances in random order, next to the warm ones")
    parser.add_argument("--cold-instances", type=int, default=5000,
                        help="seeded instances per size for --cold (default 5000)")
    parser.add_argument("--cache", type=int, default=64,
                        help="the server's workflow cache (POLKU_ENGINE_CACHE_SIZE) with --cold (default 64)")
    parser.add_argument("--models", type=int, default=5,
                        help="instances per size started for real, which --cold's are copied from (default 5)")
    parser.add_argument("--processes", type=int, default=0,
                        help="serve through the multi-process launcher (orchestrator.tools.cluster) with this many "
                             "server processes behind its round-robin proxy (default: one waitress process, no proxy)")
    parser.add_argument("--clients", type=int, default=1,
                        help="concurrent clients, each with its own connection and its share of the instances "
                             "(default 1); the proxy spreads connections over the processes")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (database, server log)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.cold and args.cache >= args.cold_instances:
        parser.error("--cold needs a cache far smaller than --cold-instances")
    if args.processes and args.database != "postgresql":
        parser.error("--processes serves on PostgreSQL (--database postgresql): processes share its database")
    if args.clients < 1 or args.processes < 0:
        parser.error("--clients must be 1 or more, --processes 0 or more")
    return args


def seed_cold(tmp: Path, url: str, sizes: tuple[int, ...], args) -> ColdSet:
    """Seed the cold instances in a process of their own (the app in process, before the server starts)."""
    out = tmp / "cold.json"
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("cold_instances.py")), url, str(out),
                           "--sizes", ",".join(map(str, sizes)), "--count", str(args.cold_instances),
                           "--models", str(args.models)], cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"seeding the cold instances failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return ColdSet(json.loads(out.read_text()))


def run_http(args, tmp: Path, url: str, counts: dict[int, int], cold: ColdSet | None) -> tuple[Measured, str]:
    where = "SQLite in " + str(tmp) if args.database == "sqlite" else "PostgreSQL"
    how = (f"{args.processes} process(es) behind the launcher's proxy, {args.threads} threads each"
           if args.processes else f"waitress, {args.threads} threads")
    extra = (f", workflow cache {args.cache}, cold instances between warm ones, timer scheduler off"
             if cold else "") + (f", {args.clients} clients" if args.clients > 1 else "")
    print(f"Polku over HTTP ({how}, {where}{extra}) ...", flush=True)
    t0 = time.perf_counter()
    with served(tmp, url, args, cold is not None) as (base, server, log_path):
        measured = bench_polku(base, counts, args.warmup_steps, INTERLEAVE_UP_TO, cold, args.clients)
        if server.poll() is not None:
            raise RuntimeError(f"server died during the run:\n{server_logs(tmp)}")
    print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)
    return measured, server_logs(tmp)


def all_checks(polku: dict[int, PolkuRun], bare: dict[int, BareRun], commit: Timings,
               cold: ColdSet | None) -> tuple[list[Check], list[Check]]:
    """The client's and the server's (Server-Timing) view of the targets."""
    polku_s = {n: r.client.summary() for n, r in polku.items()}
    bare_s = {n: r.step.summary() for n, r in bare.items()}
    found = checks(polku_s, bare_s, commit.percentile(50))
    if cold is not None:
        found += cold_checks(polku_s, {n: r.client.summary() for n, r in cold.runs.items()})
    server_s = {n: r.server.summary() for n, r in polku.items() if r.server.ms}
    found_server = []
    if len(server_s) == len(polku_s):
        found_server = checks(server_s, bare_s, commit.percentile(50), view="server")
        if cold is not None:
            found_server += cold_checks(server_s, {n: r.server.summary() for n, r in cold.runs.items()},
                                        view="server")
    return found, found_server


def main(argv=None) -> int:
    args = parse_args(argv)
    counts = {n: c for n, c in ((10, args.instances10), (500, args.instances500)) if c > 0}
    sizes = tuple(counts)
    tmp = Path(tempfile.mkdtemp(prefix="polku-bench-"))
    try:
        packages = write_packages(tmp, sizes)
        began = time.perf_counter()
        url = fresh_database(args.database, tmp)
        migrate_and_deploy(tmp, url, packages)
        cold = None
        if args.cold:
            print(f"Seeding {args.cold_instances:,} instances of each size ...", flush=True)
            cold = seed_cold(tmp, url, sizes, args)
            print(f"  done in {time.perf_counter() - began:.1f} s ({cold.seeding})", flush=True)
        speed = [machine_speed_ms()]
        measured, server_log = run_http(args, tmp, url, counts, cold)
        speed.append(machine_speed_ms())
        polku, bare, floor = measured.polku, measured.bare, measured.floor
        print("Bare SpiffWorkflow, spec in JSON (sizes not measured side by side above) ...", flush=True)
        bare |= {n: bench_bare(n, spec_apart=False) for n in sizes if n not in bare}
        bare_apart = {}
        if args.spec_apart:
            print("Bare SpiffWorkflow, spec apart ...", flush=True)
            bare_apart = {n: bench_bare(n, spec_apart=True) for n in sizes}
        print("Commit ...", flush=True)
        if args.database == "sqlite":
            commit = bench_commit(tmp / "commit.db", args.commits)
        else:
            commit = bench_commit_postgresql(url, args.commits)
        print(f"Total {time.perf_counter() - began:.1f} s", flush=True)
        if any(word in server_log for word in ("Traceback", "ERROR", "Exception")):
            print("Server log has errors:\n" + server_log)

        found, found_server = all_checks(polku, bare, commit, cold)
        print_report(polku, floor, bare, bare_apart, commit, found + found_server, args.database, cold)
        throughput = measured.completions(cold) / measured.seconds if measured.seconds else 0.0
        print(f"Completions per second over the measured run: {throughput:.1f} ({measured.clients} client(s), "
              f"{args.processes or 1} server process(es))")
        result = result_json(args, polku, floor, bare, bare_apart, commit, found, cold, speed)
        result["throughput"] = {"completions_per_s": round(throughput, 1), "clients": measured.clients,
                                "processes": args.processes or 1, "launcher": bool(args.processes),
                                "seconds": round(measured.seconds, 1)}
        print("RESULT " + json.dumps(result))
        return 1 if args.strict and not all(c.holds for c in found) else 0
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
