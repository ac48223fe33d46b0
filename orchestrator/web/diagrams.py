"""Diagram pages for designers and administrators: a pathway version drawn with how many instances stand at
each node and have passed it (and what its scenarios cover), and one instance drawn with its nodes' states,
waiting timers and history.

bpmn-js draws the BPMN in the browser from each page's JSON; every figure is also in the page's tables, for
whoever does not see the canvas. Nothing of a client's is shown: the instance's opaque id only, never its
client, business key, variables or answers, and an event's actor only as its kind. Designers see no client
data, so these views write no access-log rows (as the other designer pages do not).
"""

from dataclasses import dataclass, field

from flask import Blueprint, abort, g, jsonify, render_template, request
from flask_babel import format_percent
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..auth import guard
from ..core import migrating, positions
from ..extensions import db
from ..models import Instance, Pathway, PathwayVersion
from .filters import STATUS, when

blp = Blueprint("diagrams", __name__, url_prefix="/admin")
STATES = {"done": _l("Done"), "open": _l("Open"), "waiting": _l("Waiting"), "error": _l("Error")}
ACTORS = {"client": _l("Client"), "professional": _l("Professional"), "scheduler": _l("Scheduler"),
          "system": _l("Information system")}
EVENTS = {"started": _l("Started"), "task_completed": _l("Task completed"), "message_delivered": _l("Message received"),
          "timers_fired": _l("Timer fired"), "cancelled": _l("Ended early"),
          "duration_ended": _l("The pathway's duration ended"), "consent_withdrawn": _l("Consent withdrawn"),
          "ended_by_team": _l("Ended by the care team"), "diary_entry_corrected": _l("Diary entry corrected"),
          "incident_retry": _l("Failed step retried"), "incident_skip": _l("Failed step skipped"),
          "suspended": _l("Put on hold"), "resumed": _l("Resumed"), "migrated": _l("Moved to another version")}
CHANGES = {"added": _l("Added"), "changed": _l("Changed"), "removed": _l("Removed")}
TIMER_KINDS = {"duration": _l("After a time"), "date": _l("On a date"), "cycle": _l("Repeating")}
BADGE = {"now": "●", "passed": "✓", "done": "✓"}  # the legend says what these stand for


@dataclass
class Coverage:
    """What a version's scenarios cover, as its deploy wrote it (``PathwayVersion.coverage``)."""

    scenarios: list[dict]
    every_node: set[str]
    nodes: set[str]  # those covered
    flows: set[str]  # those covered
    flow_total: int
    uncovered_flows: list[str] = field(default_factory=list)

    def covers(self, node: str) -> bool | None:
        """Whether the scenarios pass the node; None for one they do not count (not in a reachable process)."""
        return node in self.nodes if node in self.every_node else None

    @property
    def summary(self) -> str:
        return _("Scenarios cover %(nodes)s of %(node_total)s nodes (%(node_share)s) and %(flows)s of "
                 "%(flow_total)s flows (%(flow_share)s)", nodes=len(self.nodes), node_total=len(self.every_node),
                 node_share=_share(len(self.nodes), len(self.every_node)), flows=len(self.flows),
                 flow_total=self.flow_total, flow_share=_share(len(self.flows), self.flow_total))


@blp.route("/pathways/<key>/versions/<int:number>")
@guard.signed_in("designer", "admin")
def version(key: str, number: int):
    """A version's diagram with its figures per node and a page of its active instances."""
    found = _version(key, number)
    g.diagram = True
    return render_template("web/admin/version.html", **_version_page(found, request.args.get("page", 1, type=int)))


@blp.route("/pathways/<key>/versions/<int:number>/diagram.json")
@guard.signed_in("designer", "admin")
def version_json(key: str, number: int):
    """What the version's diagram draws: the BPMN, the count badges and the covered nodes and flows."""
    found = _version(key, number)
    drawing, coverage = _drawing(found), _coverage(found)
    badges = {}
    for node, figures in _figures(found, drawing).items():
        shown = [[kind, f"{BADGE[kind]} {n}"] for kind, n in zip(("now", "passed"), figures, strict=True) if n]
        if shown:
            badges[node] = shown
    covered = sorted(coverage.nodes | coverage.flows) if coverage else []
    markers = {element: ["covered"] for element in covered}
    for element, change in _compared(found).items():  # a comparison shows what changed, not the counts
        markers[element], badges[element] = [change], [[change, str(CHANGES[change])]]
    return jsonify(xml=drawing.xml, badges=badges, markers=markers)


def _compared(version: PathwayVersion) -> dict[str, str]:
    """With ``?against=N``: each element this version adds, changes or (against a later one) lacks."""
    other = request.args.get("against", type=int)
    if not other or other == version.number:
        return {}
    against = _version(version.pathway.key, other)
    newer = version.number > other
    found = migrating.differences(against, version) if newer else migrating.differences(version, against)
    marks = {element: "changed" for element, _ in found.changed}
    marks.update({element: "added" for element, _ in found.added} if newer else
                 {element: "removed" for element, _ in found.removed})
    return marks


@blp.route("/instances/<int:instance_id>")
@guard.signed_in("designer", "admin")
def instance(instance_id: int):
    """An instance's diagram: where it has been and stands, its waiting timers, its history, and what an
    operator may do with it."""
    found = _instance(instance_id)
    g.diagram = True
    return render_template("web/admin/instance.html", **_instance_page(found), done=request.args.get("done"))


@blp.route("/instances/<int:instance_id>/diagram.json")
@guard.signed_in("designer", "admin")
def instance_json(instance_id: int):
    """What the instance's diagram draws: the BPMN, each node's state as a marker and a badge, timers' due times."""
    found = _instance(instance_id)
    drawing = _drawing(found.version)
    states = _states(found, drawing)
    due = {timer.spec: when(timer.due_at, "short") for timer in positions.timers(found.id)}
    badges = {node: [[state, _badge(state, due.get(node))]] for node, state in states.items()}
    return jsonify(xml=drawing.xml, badges=badges, markers={node: [state] for node, state in states.items()})


def _states(instance: Instance, drawing: positions.Drawing) -> dict[str, str]:
    """Each drawn node's state in the instance; the node an incident stopped it at is the error, whatever its
    task's state says."""
    states = {node: state for node, state in positions.node_states(instance.id).items() if node in drawing.names}
    failed = getattr(instance, "incident_element", None)  # recorded by the incident handling (core/incidents.py)
    if instance.status == "incident" and failed in drawing.names:
        states[failed] = "error"
    return states


def _version(key: str, number: int) -> PathwayVersion:
    found = db.session.scalar(select(PathwayVersion).join(PathwayVersion.pathway)
                              .where(Pathway.key == key, PathwayVersion.number == number))
    if found is None:
        abort(404)
    return found


def _instance(instance_id: int) -> Instance:
    found = db.session.get(Instance, instance_id)
    if found is None:
        abort(404)
    return found


def _drawing(version: PathwayVersion) -> positions.Drawing:
    drawing = positions.drawing(version)
    if drawing is None:  # a deployed version always has its process's file: a missing one is not ours to show
        abort(404)
    return drawing


def _figures(version: PathwayVersion, drawing: positions.Drawing) -> dict[str, tuple[int, int]]:
    """Now and passed for each node drawn (internal task specs such as ``Start`` are no node)."""
    counted = positions.counts(version.id)
    return {node.id: counted.get(node.id, (0, 0)) for node in drawing.nodes}


def _coverage(version: PathwayVersion) -> Coverage | None:
    found = db.session.scalar(select(PathwayVersion.coverage).where(PathwayVersion.id == version.id))
    if not found:
        return None
    nodes, flows = found.get("nodes") or {}, found.get("flows") or {}
    every_node, every_flow = set(nodes.get("all") or []), list(flows.get("all") or [])
    covered_flows = set(flows.get("covered") or []) & set(every_flow)
    return Coverage(found.get("scenarios") or [], every_node, set(nodes.get("covered") or []) & every_node,
                    covered_flows, len(set(every_flow)), [f for f in every_flow if f not in covered_flows])


def _share(part: int, whole: int) -> str:
    """A percentage rounded down, so that 100 % means all of them."""
    return format_percent((part * 100 // whole) / 100 if whole else 1)


def _badge(state: str, due: str | None) -> str:
    word = f"{BADGE[state]} {STATES[state]}" if state in BADGE else str(STATES[state])
    return _("%(state)s until %(due)s", state=word, due=due) if due and state == "waiting" else word


def _version_page(version: PathwayVersion, page: int) -> dict:
    drawing, coverage = _drawing(version), _coverage(version)
    against = request.args.get("against", type=int)
    compared = _compared(version)
    figures = _figures(version, drawing)
    total = positions.active_count(version.id)
    pages = max(1, -(-total // positions.PAGE))
    page = min(max(page, 1), pages)
    rows = positions.active_page(version.id, page)
    standing = positions.standing_at([row.id for row in rows])
    names = drawing.names
    active = [(row.id, STATUS.get(row.status, row.status), [names.get(s) or s for s in standing[row.id] if s in names])
              for row in rows]
    nodes = [(node, *figures[node.id], coverage.covers(node.id) if coverage else None) for node in drawing.nodes]
    changes = {change: [(element, names.get(element) or element) for element, c in compared.items() if c == change]
               for change in CHANGES}
    return {"version": version, "nodes": nodes, "coverage": coverage, "active": active, "total": total,
            "page": page, "pages": pages, "against": against if compared or against else None, "changes": changes}


def _instance_page(instance: Instance) -> dict:
    drawing = _drawing(instance.version)
    states, names = _states(instance, drawing), drawing.names
    timers = [(names.get(t.spec) or t.spec, t.spec, TIMER_KINDS.get(t.kind, t.kind), t.due_at)
              for t in positions.timers(instance.id)]
    history = [(line.at, EVENTS.get(line.kind, line.kind), line.element, names.get(line.element, ""),
                ACTORS[line.actor]) for line in positions.history(instance)]
    return {"instance": instance, "version": instance.version, "status": STATUS.get(instance.status, instance.status),
            "nodes": [(node, STATES.get(states.get(node.id), "")) for node in drawing.nodes], "timers": timers,
            "history": history}
