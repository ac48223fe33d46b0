"""Where a pathway's instances stand, for the diagrams designers read: counts per BPMN node, one instance's
node states, timers and history. Read from the projected rows (``task_state``'s node and state, ``timer``,
``event``); no workflow is loaded, and nothing of a client's (answers, variables, who they are) is read out.
"""

from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from sqlalchemy import case, distinct, func, select

from ..engine.validate import FLOW_NODES  # the BPMN elements a token stands at or passes
from ..engine.xml import BPMN_NS, parse_xml
from ..extensions import db
from ..models import ACTIVE, Event, Instance, PathwayVersion, Person, TaskState, Timer

LIVE = ("WAITING", "READY", "STARTED", "ERROR")  # a task an instance stands at
# A node's state in one instance, by its tasks' states; when a loop left several tasks of one node, the most
# current one tells (an error over an open task over a waiting one over one done).
STATES = {"ERROR": "error", "READY": "open", "STARTED": "open", "WAITING": "waiting", "COMPLETED": "done"}
RANK = {"done": 1, "waiting": 2, "open": 3, "error": 4}
SUBJECT_PREFIXES = ("dev", "oidc")  # how sign-in names people's subjects (auth/demo.py, auth/oidc.py)
PAGE = 25  # active instances on one page of a version's diagram


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    kind: str  # the BPMN element's tag, e.g. userTask


@dataclass(frozen=True)
class Drawing:
    """The BPMN file to draw and the process's own nodes and flows (embedded subprocesses' included)."""

    xml: str
    nodes: list[Node]
    flows: list[str]

    @property
    def names(self) -> dict[str, str]:
        return {node.id: node.name for node in self.nodes}


@dataclass(frozen=True)
class Line:
    """One event of an instance's history, as a designer may see it: what, where, and what kind of actor."""

    at: datetime
    kind: str
    element: str
    actor: str  # client, professional, scheduler or system: never who


def drawing(version: PathwayVersion) -> Drawing | None:
    """The version's BPMN file whose process is the version's own (a package may hold several), or None."""
    sources = db.session.scalar(select(PathwayVersion.sources).where(PathwayVersion.id == version.id)) or {}
    for name in sorted(n for n in sources if n.lower().endswith(".bpmn")):
        root = parse_xml(sources[name].encode("utf-8"), name)
        if not isinstance(root, etree._Element):
            continue
        process = next((p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("id") == version.process_id), None)
        if process is not None:
            return Drawing(sources[name], _nodes(process), _flows(process))
    return None


def _local(element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _nodes(process) -> list[Node]:
    return [Node(e.get("id"), e.get("name") or "", _local(e)) for e in process.iter()
            if _local(e) in FLOW_NODES and e.get("id")]


def _flows(process) -> list[str]:
    return [e.get("id") for e in process.iter(f"{{{BPMN_NS}}}sequenceFlow") if e.get("id")]


def counts(version_id: int) -> dict[str, tuple[int, int]]:
    """Per task spec: how many active instances stand there now, and how many instances (of any status) have
    passed it; one grouped query. Internal specs (Start, End, x.EndJoin) come too: the caller keeps the nodes."""
    standing = case((TaskState.state.in_(LIVE) & Instance.status.in_(ACTIVE), TaskState.instance_id))
    passed = case((TaskState.state == "COMPLETED", TaskState.instance_id))
    rows = db.session.execute(
        select(TaskState.spec, func.count(distinct(standing)), func.count(distinct(passed)))
        .join(Instance, Instance.id == TaskState.instance_id)
        .where(Instance.version_id == version_id, TaskState.state.in_((*LIVE, "COMPLETED")))
        .group_by(TaskState.spec))
    return {spec: (now, done) for spec, now, done in rows}


def active_count(version_id: int) -> int:
    """How many of the version's instances are active."""
    return db.session.scalar(select(func.count()).select_from(Instance)
                             .where(Instance.version_id == version_id, Instance.status.in_(ACTIVE)))


def active_page(version_id: int, page: int, size: int = PAGE) -> list:
    """A page of the version's active instances: id and status, oldest first."""
    return db.session.execute(select(Instance.id, Instance.status)
                              .where(Instance.version_id == version_id, Instance.status.in_(ACTIVE))
                              .order_by(Instance.id).offset((page - 1) * size).limit(size)).all()


def standing_at(instance_ids: list[int]) -> dict[int, list[str]]:
    """The task specs each of these instances stands at now, in one query."""
    found: dict[int, list[str]] = {i: [] for i in instance_ids}
    if instance_ids:
        for instance_id, spec in db.session.execute(
                select(TaskState.instance_id, TaskState.spec).distinct()
                .where(TaskState.instance_id.in_(instance_ids), TaskState.state.in_(LIVE))
                .order_by(TaskState.instance_id, TaskState.spec)):
            found[instance_id].append(spec)
    return found


def node_states(instance_id: int) -> dict[str, str]:
    """Each task spec's state in the instance: done, open, waiting or error (the most current of its tasks)."""
    found: dict[str, str] = {}
    for spec, state in db.session.execute(select(TaskState.spec, TaskState.state).distinct()
                                          .where(TaskState.instance_id == instance_id,
                                                 TaskState.state.in_(tuple(STATES)))):
        mine = STATES[state]
        if RANK[mine] > RANK.get(found.get(spec), 0):
            found[spec] = mine
    return found


def timers(instance_id: int) -> list[Timer]:
    """The instance's waiting timers, soonest first."""
    return list(db.session.scalars(select(Timer).where(Timer.instance_id == instance_id)
                                   .order_by(Timer.due_at, Timer.spec)))


def history(instance: Instance) -> list[Line]:
    """The instance's events, oldest first: each with its kind, its element (a fired timer's from the event's
    list of timers; no other part of an event's data is read) and its actor's kind."""
    fired = case((Event.kind == "timers_fired", Event.data))
    rows = db.session.execute(select(Event.at, Event.actor, Event.kind, Event.spec, fired)
                              .where(Event.instance_id == instance.id).order_by(Event.id)).all()
    staff = _staff({row.actor for row in rows} - {"scheduler", instance.client_id})
    return [Line(at, kind, spec or ", ".join(t.get("spec", "") for t in (data or {}).get("timers", [])),
                 _actor_kind(actor, instance.client_id, staff))
            for at, actor, kind, spec, data in rows]


def _staff(actors: set[str]) -> set[str]:
    """Those of ``actors`` who are people with a work role (history names them by their login): a professional,
    or an administrator handling an incident, is a person of the staff either way."""
    subjects = [f"{prefix}:{actor}" for actor in actors for prefix in SUBJECT_PREFIXES]
    if not subjects:
        return set()
    people = db.session.execute(select(Person.subject, Person.roles).where(Person.subject.in_(subjects)))
    return {subject.split(":", 1)[1] for subject, roles in people if set(roles or []) - {"client"}}


def _actor_kind(actor: str, client_id: str | None, staff: set[str]) -> str:
    if actor == "scheduler":
        return "scheduler"
    if client_id is not None and actor == client_id:
        return "client"
    return "professional" if actor in staff else "system"
