"""Task-completion throughput: Polku over real HTTP next to the bare SpiffWorkflow cost per step.

What it measures, in one run:

1. Polku, served by waitress on 127.0.0.1 (``flask --app orchestrator serve``), against a fresh
   SQLite database: the client-side wall time of ``POST /api/v1/tasks/<id>/complete`` for instances
   of a sequential process with 10 and with 500 user tasks (completions per second, p50/p95 ms),
   through a lean keep-alive client, and the server's own time from its ``Server-Timing`` header.
2. The bare SpiffWorkflow cost of one step for the same two processes, in memory, the way a plain
   app would do it with the standard ``BpmnWorkflow`` and ``BpmnWorkflowSerializer``:
   ``deserialize_json`` -> run the READY user task -> ``do_engine_steps`` -> ``serialize_json``,
   with the spec inside the JSON. The 10-task instances run between Polku's, so both sides of the
   ratio come from the same minutes (this kind of machine drifts in speed by up to 2x); the 10- and
   500-task instances take turns over the whole run for the same reason. For
   reference also a variant with the spec kept apart (serialized without it, parsed and put back
   before each restore), with ``--spec-apart``.
3. The cost of one small SQLite commit (UPDATE of one row, WAL, synchronous=NORMAL, as Polku).

Targets checked for the client's and for the server's view of each completion (MISSED is printed
when one does not hold; ``--strict`` exits 1 when a client-side one does not):

* per-completion p50 <= 3 x (bare engine p50 per step + one commit), for each process size;
* Polku's p50 at 500-task instances <= 1.5 x its p50 at 10-task instances;
* reference: spiffworkflow-backend does about 50 ms per completion on this kind of machine;
  Polku should be at least 10x faster (p50), for each size.

Run it from the repository root (takes about two minutes on a 2-core machine)::

    .venv/bin/python benchmarks/complete_tasks.py [--instances10 60] [--instances500 2] [--spec-apart] [--strict]

The last line of output is ``RESULT {...}``: every figure as one JSON object.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import requests
from figures import Timings
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

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


@contextmanager
def polku_server(tmp: Path, packages: Path, threads: int):
    """Migrate, deploy and serve Polku on a free loopback port; yield its base URL."""
    forms = tmp / "forms"
    forms.mkdir(exist_ok=True)
    env = {"POLKU_ENV": "development", **os.environ, "POLKU_DATABASE_URL": f"sqlite:///{tmp / 'polku.db'}",
           "POLKU_FORMS_DIR": str(forms)}
    for args in (("db", "upgrade"), ("deploy", str(packages))):
        done = subprocess.run(flask_cmd(*args), cwd=REPO, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        if args[0] == "deploy":
            print(done.stdout.strip())
    port = free_port()
    log_path = tmp / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(flask_cmd("serve", "--host", "127.0.0.1", "--port", str(port),
                                            "--threads", str(threads)),
                                  cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
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
                       steps: int | None = None) -> PolkuRun:
    """Start one instance and complete its n tasks in order (or only the first steps), timing each."""
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
        url = f"{base}/api/v1/tasks/{tasks[0]['id']}/complete"
        t0 = time.perf_counter()
        response = session.post(url, json={"data": {"v": i + 1}})
        run.client.add(time.perf_counter() - t0)
        run.response_bytes.append(len(response.content))
        server = server_timing_ms(response.headers.get("Server-Timing"))
        if server is not None:
            run.server.ms.append(server)
        body = expect(response, 200, f"complete step {i + 1}")
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


def bench_polku(base: str, counts: dict[int, int], warmup_steps: int,
                interleave: int) -> tuple[dict[int, PolkuRun], dict[int, BareRun], Timings]:
    """Polku's completions; for sizes up to `interleave`, a bare-engine instance runs after each Polku one.

    Both kinds of interleaving make the figures of a ratio come from the same minutes of a machine
    whose speed drifts: the sizes take turns in rounds, and the bare engine runs next to Polku.
    """
    results = {n: PolkuRun() for n in counts}
    bare = {n: BareRun() for n in counts if n <= interleave}
    with JsonClient(base) as session:
        floor = bench_floor(session, base, 200)
        for n in counts:
            run_polku_instance(session, base, f"seq{n}", n, warmup_steps)  # warm-up, not counted
        for n in rounds(counts):
            one = run_polku_instance(session, base, f"seq{n}", n)
            total = results[n]
            total.client.extend(one.client)
            total.server.extend(one.server)
            total.start.extend(one.start)
            total.response_bytes += one.response_bytes
            if n in bare:
                bare[n].extend(bench_bare(n, spec_apart=False))
    return results, bare, floor


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


def fmt_row(label: str, s: dict, extra: str = "") -> str:
    if not s.get("n"):
        return f"  {label:<44} (no data)"
    return (f"  {label:<44} {s['n']:>6} {s['per_s']:>9.1f} {s['mean_ms']:>9.2f} {s['p50_ms']:>9.2f} "
            f"{s['p95_ms']:>9.2f} {s['max_ms']:>9.2f}  {extra}")


def print_report(polku: dict[int, PolkuRun], floor: Timings, bare: dict[int, BareRun],
                 bare_apart: dict[int, BareRun], commit: Timings, found: list[Check]) -> None:
    print()
    print("=" * 110)
    print(f"  {'what':<44} {'n':>6} {'per s':>9} {'mean ms':>9} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")
    print("-" * 110)
    print(fmt_row("HTTP floor: GET unknown task (404)", floor.summary()))
    for n, run in polku.items():
        sent = run.response_bytes
        print(fmt_row(f"Polku HTTP complete, seq{n} (client)", run.client.summary(),
                      f"response {min(sent) / 1024:.1f}-{max(sent) / 1024:.1f} KiB"))
        if run.server.ms:
            print(fmt_row(f"Polku HTTP complete, seq{n} (Server-Timing)", run.server.summary()))
        print(fmt_row(f"Polku HTTP start instance, seq{n}", run.start.summary()))
    if polku and not any(run.server.ms for run in polku.values()):
        print("  (server sent no Server-Timing header: server-side time not available)")
    for label, runs in (("bare engine, spec in JSON", bare), ("bare engine, spec apart", bare_apart)):
        for n, run in runs.items():
            print(fmt_row(f"{label}, seq{n} step", run.step.summary(),
                          f"state {max(run.state_bytes) / 1024:.0f} KiB max"))
            for part in ("load", "run", "save"):
                print(fmt_row(f"    {part}", getattr(run, part).summary()))
    print(fmt_row("SQLite commit (WAL, synchronous=NORMAL)", commit.summary()))
    print("-" * 110)
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


def result_json(args, polku, floor, bare, bare_apart, commit, found) -> dict:
    return {
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
        "sqlite_commit": commit.summary(),
        "reference_ms": REFERENCE_MS,
        "speedup_vs_reference": {f"seq{n}": round(REFERENCE_MS / r.client.percentile(50), 2)
                                 for n, r in polku.items()},
        "targets": [{"name": c.name, "value": round(c.value, 3), "limit": round(c.limit, 3), "holds": c.holds}
                    for c in found],
        "all_met": all(c.holds for c in found),
    }


# --------------------------------------------------------------------------- main

def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances10", type=int, default=60, help="measured 10-task instances (default 60)")
    parser.add_argument("--instances500", type=int, default=2, help="measured 500-task instances (default 2)")
    parser.add_argument("--warmup-steps", type=int, default=50,
                        help="completions in the uncounted warm-up instance of each size (default 50)")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads (default 4)")
    parser.add_argument("--commits", type=int, default=1000, help="SQLite commits to time (default 1000)")
    parser.add_argument("--spec-apart", action="store_true",
                        help="also time the bare engine with the spec stored apart (adds about a minute)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (database, server log)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    counts = {n: c for n, c in ((10, args.instances10), (500, args.instances500)) if c > 0}
    sizes = tuple(counts)
    tmp = Path(tempfile.mkdtemp(prefix="polku-bench-"))
    try:
        packages = write_packages(tmp, sizes)
        began = time.perf_counter()
        print(f"Polku over HTTP (waitress, {args.threads} threads, SQLite in {tmp}) ...", flush=True)
        with polku_server(tmp, packages, args.threads) as (base, server, log_path):
            polku, bare, floor = bench_polku(base, counts, args.warmup_steps, INTERLEAVE_UP_TO)
            if server.poll() is not None:
                raise RuntimeError(f"server died during the run:\n{log_path.read_text()}")
        server_log = log_path.read_text()
        print(f"  done in {time.perf_counter() - began:.1f} s", flush=True)
        print("Bare SpiffWorkflow, spec in JSON (sizes not measured side by side above) ...", flush=True)
        bare |= {n: bench_bare(n, spec_apart=False) for n in sizes if n not in bare}
        bare_apart = {}
        if args.spec_apart:
            print("Bare SpiffWorkflow, spec apart ...", flush=True)
            bare_apart = {n: bench_bare(n, spec_apart=True) for n in sizes}
        print("SQLite commit ...", flush=True)
        commit = bench_commit(tmp / "commit.db", args.commits)
        print(f"Total {time.perf_counter() - began:.1f} s", flush=True)
        if any(word in server_log for word in ("Traceback", "ERROR", "Exception")):
            print("Server log has errors:\n" + server_log)

        polku_s = {n: r.client.summary() for n, r in polku.items()}
        bare_s = {n: r.step.summary() for n, r in bare.items()}
        found = checks(polku_s, bare_s, commit.percentile(50))
        server_s = {n: r.server.summary() for n, r in polku.items() if r.server.ms}
        if len(server_s) == len(polku_s):
            found_server = checks(server_s, bare_s, commit.percentile(50), view="server")
        else:
            found_server = []
        print_report(polku, floor, bare, bare_apart, commit, found + found_server)
        print("RESULT " + json.dumps(result_json(args, polku, floor, bare, bare_apart, commit, found)))
        return 1 if args.strict and not all(c.holds for c in found) else 0
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
