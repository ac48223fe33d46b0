"""A pathway's own scenarios, played at deploy on a simulated clock; what they covered stays with the version.

A designer writes down what the pathway must do (which tasks open when in local time, who is reminded of
what, how it ends) as files in its package. Deploy plays them and refuses a version that no longer does
it, naming the scenario and its first expectation that failed, so a changed timer or a renamed task cannot
reach clients unnoticed. As Camunda 8's test scenarios, with coverage, plus expectations on the calendar.

A scenario is a file ``<name>.scenario.json`` in the package: the simulator's answers format (simulate.py:
start, client_id, variables, tasks, delays, messages; ``start`` required) plus a name, how many days it
runs and what to expect, checked in order::

    {"name": "Korkeat lukemat hoitajalle", "start": "2027-03-22T15:41", "days": 21, "tasks": {...},
     "expect": [{"opens": "verenpainemittaus", "times": 14, "at": ["07:00", "18:00"]},
                {"alert": "kohonneet_arvot", "to": "Hoitaja", "times": 4},
                {"reminder": "muistutus_mittaus", "to": "client", "between": ["08:00", "21:00"]},
                {"notice": "kerro_tulos", "says": "116 117"},
                {"missed": "verenpainemittaus", "on_days": [3]},
                {"no_client_task_between": ["22:00", "06:00"]}, {"no_reminder_between": ["21:00", "08:00"]},
                {"ends": "completed", "by": "P9D"}, {"no_incident": true}]}

``opens`` (a task opened), ``alert`` (a professional's task opened), ``missed`` (a task's time ran out),
``reminder`` and ``notice`` (sent) name an element; they hold at least once, or ``times`` times (0: never).
Options: ``at`` a local "2026-01-12T09:00" (one of them then), or "07:00" or a list of such (every one at one
of those clock times); ``on_days`` the pathway days they fell on (day 0 the start's); ``between`` [from, to]
(every one within those hours); ``to`` "client" or a team (every one for it); ``says`` (one of them contains
the text). ``no_client_task_between`` / ``no_reminder_between`` [from, to]: none then (spanning midnight if
from > to). ``ends``: "completed" (at its end event), "duration ended" or "never", with ``by`` (a duration
from the start) or ``at``. ``incident`` (with ``says``) names the element of an expected incident; any other
incident fails the scenario. ``no_incident``: true. Times are the pathway's (its timeZone, else the
service's POLKU_TIME_ZONE).

All scenarios of a package play in one throwaway database (``simulate.throwaway``: its own clock, never the
live database) and coverage is read from its task rows: a node is covered when a task of it completed, a
sequence flow when a task of its target was reached from a completed task of its source. Outcomes are kept
in this process by content: the same package deploys again without playing again.
"""

import copy
import hashlib
import json
import threading
from collections import OrderedDict
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from .. import engine
from ..core.database import write
from ..core.refusal import Refused
from ..engine import PackageInvalid, Problem
from ..engine.validate import FLOW_NODES
from ..engine.xml import BPMN_NS, NS, parse_xml
from ..extensions import db
from ..models import Instance, TaskState
from . import deploy, simulate
from .expectations import first_failed
from .scenario_files import Scenario, load

_MEMO: OrderedDict[str, dict | list[Problem]] = OrderedDict()
_MEMO_LOCK = threading.Lock()
RUNS = {"packages": 0}  # packages played, not answered from memory (tests count them)


def check(package: deploy.Package, result: engine.CompiledPathway) -> dict:
    """The coverage of the package's scenarios, or PackageInvalid naming each failing one; kept by content."""
    zone = result.time_zone or current_app.config["POLKU_TIME_ZONE"]
    digest = hashlib.sha256(f"{result.content_hash}\0{zone}".encode())
    for name, data in sorted(package.scenarios.items()):
        digest.update(b"\0" + name.encode() + b"\0" + data)
    with _MEMO_LOCK:
        outcome = _MEMO.get(digest.hexdigest())
    if outcome is None:
        try:
            outcome = play(package, result, zone)
        except PackageInvalid as exc:
            outcome = exc.problems
        with _MEMO_LOCK:
            _MEMO[digest.hexdigest()] = outcome
            while len(_MEMO) > 128:
                _MEMO.popitem(last=False)
    if isinstance(outcome, list):
        raise PackageInvalid(outcome)
    return copy.deepcopy(outcome)


def play(package: deploy.Package, result: engine.CompiledPathway, zone: str) -> dict:
    """Play every scenario of the package in one throwaway database; their coverage, or PackageInvalid."""
    RUNS["packages"] += 1
    loaded, problems = [], []
    for file, data in sorted(package.scenarios.items()):
        try:
            loaded.append(load(file, data, result, zone))
        except PackageInvalid as exc:
            problems += exc.problems
    if problems:
        raise PackageInvalid(problems)
    with simulate.throwaway(simulate.app_like(current_app.config), loaded[0].script.start):
        with write():
            version = deploy.store(package.key, result, "scenarios").version
        problems = [p for p in (_play_one(s, version, zone) for s in loaded) if p is not None]
        if problems:
            raise PackageInvalid(problems)
        return coverage(result, loaded)


def _play_one(scenario: Scenario, version, zone: str) -> Problem | None:
    """Play one scenario; the problem naming its first unmet expectation, or None."""
    try:
        instance_id = simulate.drive(version, scenario.script, scenario.script.start + timedelta(days=scenario.days))
        failed = first_failed(scenario, instance_id, zone)
    except (simulate.ScriptInvalid, Refused) as exc:
        failed = (str(exc), None)
    db.session.rollback()
    with write():  # set aside, so that the next scenario's clock fires none of its timers
        db.session.execute(update(Instance).where(Instance.status == "running").values(status="cancelled"))
    return None if failed is None else Problem(scenario.file, f"scenario '{scenario.name}': {failed[0]}", failed[1])


def coverage(result: engine.CompiledPathway, scenarios: list[Scenario]) -> dict:
    """The flow nodes and sequence flows of the pathway's reachable processes, sorted, and those the scenarios
    in this database covered; a task's source is its nearest ancestor that is a BPMN element."""
    nodes, flows = graph(result)
    tasks = {row.task_id: (row.spec, row.state, json.loads(row.doc).get("parent"))
             for row in db.session.execute(select(TaskState.task_id, TaskState.spec, TaskState.state, TaskState.doc))}
    taken = set()
    for spec, state, parent in tasks.values():
        while parent in tasks and tasks[parent][0] not in nodes:  # up through the engine's own specs
            parent = tasks[parent][2]
        reached = spec in nodes and state not in ("MAYBE", "LIKELY", "FUTURE")  # not only predicted
        if reached and parent in tasks and tasks[parent][1] == "COMPLETED":
            taken.add((tasks[parent][0], spec))
    covered = {spec for spec, state, _ in tasks.values() if state == "COMPLETED"} & nodes
    return {"scenarios": [{"name": s.name, "file": s.file} for s in scenarios],
            "nodes": {"all": sorted(nodes), "covered": sorted(covered)},
            "flows": {"all": sorted(flows), "covered": sorted(f for f, ends in flows.items() if ends in taken)}}


def graph(result: engine.CompiledPathway) -> tuple[set[str], dict[str, tuple[str, str]]]:
    """The flow node ids, and the sequence flows (id: source, target), of the main process and the processes it
    calls, their subprocesses included."""
    processes = {}
    for name, text in result.sources.items():
        tree = parse_xml(text.encode(), name) if name.endswith(".bpmn") else None
        if tree is not None and not isinstance(tree, Problem):
            processes.update({p.get("id"): p for p in tree.iterfind("bpmn:process", NS)})
    reachable, todo = set(), [result.process_id]
    while todo:
        pid = todo.pop()
        if pid in processes and pid not in reachable:
            reachable.add(pid)
            todo += [c.get("calledElement") for c in processes[pid].iterfind(".//bpmn:callActivity", NS)]
    nodes, flows = set(), {}
    for element in (e for pid in reachable for e in processes[pid].iter(f"{{{BPMN_NS}}}*")):
        local = element.tag.split("}")[1]
        if local in FLOW_NODES:
            nodes.add(element.get("id"))
        elif local == "sequenceFlow":
            flows[element.get("id")] = (element.get("sourceRef"), element.get("targetRef"))
    return nodes, flows


def summary(coverage: dict | None) -> str:
    """A deploy's report of it: "scenarios: 3 passed; nodes 34/34 (100 %), flows 40/42 (95 %)"."""
    if not coverage:
        return "no scenarios"
    parts = [f"{what} {len(part['covered'])}/{len(part['all'])} "
             f"({100 * len(part['covered']) // len(part['all']) if part['all'] else 100} %)"
             for what, part in ((w, coverage[w]) for w in ("nodes", "flows"))]
    return f"scenarios: {len(coverage['scenarios'])} passed; {', '.join(parts)}"
