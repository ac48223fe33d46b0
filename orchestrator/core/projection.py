"""Projected query rows: after each step, the human tasks and timers that the changed tasks imply.

Inbox and timer queries read these rows and never load a workflow.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, delete, literal, select, update

from .. import engine
from ..engine.metadata import priority_of
from ..models import HumanTask, Instance, Notification, Timer
from . import _compiled
from .database import insert_rows, upsert

CLIENT_ROLES = {"asiakas", "client", "klient", "kund"}
def _plain(value) -> str:
    """A value shown in Markdown instructions as the text it is: its own Markdown (a heading, a link) is escaped."""
    text = "" if value is None else str(value)
    return _MARKDOWN_SPECIAL.sub(r"\\\g<0>", " ".join(text.split()))


_MARKDOWN_SPECIAL = re.compile(r"[\\`*_{}\[\]()#+\-.!<>|~]")
# Jinja's sandbox within the limits of pathway code (engine/templates.py): bounded operators and filters, output
# of at most engine.templates.MAX_RENDERED characters, the script deadline.
_templates = engine.templates.LimitedEnvironment(autoescape=False)  # reminders: plain text
_markdown_templates = engine.templates.LimitedEnvironment(autoescape=False, finalize=_plain)  # instructions
MAX_TEMPLATE = engine.templates.MAX_TEMPLATE


def teams(task_meta: dict, kind: str) -> frozenset[str]:
    """The care teams that follow a pathway: every team its professional tasks are for. A self-care
    pathway has none, whatever its lanes say: no professional ever sees it."""
    if kind == "self-care":
        return frozenset()
    found: set[str] = set()
    for meta in task_meta.values():
        lane, groups = meta.get("lane"), meta.get("candidate_groups") or []
        if meta.get("kind") in engine.metadata.HUMAN_TAGS and audience(lane, groups) == "professional":
            found.update(filter(None, [lane, *groups]))
    return frozenset(found)


def audience(role: str | None, groups: list[str]) -> str:
    names = {n.strip().lower() for n in [role or "", *groups]}
    return "client" if names & CLIENT_ROLES else "professional"


def render(text: str | None, data: dict, markdown: bool = False) -> str | None:
    """Instructions and reminders may show process variables ({{ name }}); a template that fails, or passes a
    limit of pathway code, shows as written (the engine has made the limit an incident on the instance when the
    task opened). In Markdown (instructions) a variable's value stays text: a client's answer cannot add a link."""
    if not text or len(text) > MAX_TEMPLATE:
        return text
    try:
        return engine.templates.render(_markdown_templates if markdown else _templates, text, data)
    except Exception:  # noqa: BLE001 - whatever a designer's template does wrong, the step goes on
        return text


TASKS, TIMERS = HumanTask.__table__, Timer.__table__
# Built once: every step runs them, and building a statement costs more than running it.
EXISTING = (
    select(TASKS.c.id, literal("task")).where(TASKS.c.instance_id == bindparam("instance"), TASKS.c.state == "open")
    .union_all(select(TIMERS.c.id, literal("timer")).where(TIMERS.c.instance_id == bindparam("instance")))
)
CLOSE = update(TASKS).where(TASKS.c.id == bindparam("task_id")).values(
    state=bindparam("new_state"), completed_at=bindparam("at"), completed_by=bindparam("by"))
DROP_TIMER = delete(TIMERS).where(TIMERS.c.id == bindparam("timer_id"))
MISSED_WITHIN = update(TASKS).where(TASKS.c.id == bindparam("task_id"), TASKS.c.spec == bindparam("inner_spec")
                                    ).values(state="missed")


def existing(instance_id: int) -> tuple[set[str], set[str]]:
    """The instance's open human task ids and waiting timer ids, in one query."""
    rows = [tuple(row.values()) for row in _compiled.rows(EXISTING, {"instance": instance_id})]
    return {i for i, kind in rows if kind == "task"}, {i for i, kind in rows if kind == "timer"}


@dataclass
class Projected:
    """What a step left: open task and timer ids, the timers it fired, the earliest timer it set."""

    ids: tuple[set[str], set[str]]
    fired: list = field(default_factory=list)
    earliest_new_timer: datetime | None = None
    notified: int = 0
    told: list[str] = field(default_factory=list)  # what the step told the client at once
    notices: list[dict] = field(default_factory=list)  # the notification rows it wrote
    opened: list[dict] = field(default_factory=list)  # the human task rows it opened


def project(instance: Instance, info, changed: list, changes, actor: str, at: datetime,
            known: tuple[set[str], set[str]] | None = None) -> Projected:
    """Bring HumanTask, Timer and Notification rows in line with the tasks a step changed.

    ``known`` are the open task and timer ids the previous step left, when the caller has them.
    """
    open_ids, timer_ids = known if known is not None else existing(instance.id)
    deleted = list(changes.deletes)
    new_tasks, timers, closed = [], [], {}
    for task in changed:
        view = engine.view(task)
        if view.human and view.id not in open_ids:
            new_tasks.append(_human_task(instance, info, task, view, at))
        elif not view.human and view.id in open_ids:
            closed[view.id] = "completed" if view.state == "COMPLETED" else "cancelled"
        if view.timer_due is not None:
            timers.append({"id": view.id, "instance_id": instance.id, "spec": view.spec, "kind": view.timer_kind,
                           "due_at": view.timer_due})
        elif view.id in timer_ids:
            deleted.append(view.id)
    for task_id in set(deleted) & open_ids:
        closed[task_id] = "cancelled"
    fired = engine.runtime.fired_timers(changed, changes.created, timer_ids) if info.timed else []
    for task_id in _missed(info, fired):
        if closed.get(task_id) == "cancelled":
            closed[task_id] = "missed"
    _close(closed, actor, at)
    _missed_within(info, fired, [task_id for task_id, state in closed.items() if state == "cancelled"])
    insert_rows(HumanTask, new_tasks)
    upsert(Timer, timers, ["id"], ["due_at", "spec", "kind"])
    gone = set(deleted) & timer_ids
    _compiled.execute_many(DROP_TIMER, ({"timer_id": i} for i in gone))
    open_now = (open_ids - closed.keys()) | {t["id"] for t in new_tasks}
    notices = reminders(instance, info, fired, at) + told(instance, info, changed, changes.completed, at)
    insert_rows(Notification, notices)
    new_due = [t["due_at"] for t in timers if t["id"] not in timer_ids]
    return Projected((open_now, (timer_ids - gone) | {t["id"] for t in timers}), [engine.view(t) for t in fired],
                     min(new_due, default=None), len(notices),
                     [n["text"] for n in notices if n["kind"] == "notice" and n["audience"] == "client"], notices,
                     new_tasks)


def _deadlines(info, fired: list) -> list[tuple]:
    """The interrupting timers that fired, each with the element whose time they ended."""
    found = []
    for timer in fired:
        meta = info.task_meta.get(engine.view(timer).spec, {})
        if meta.get("interrupting") and meta.get("attached_to"):
            found.append((timer, meta["attached_to"]))
    return found


def _missed(info, fired: list) -> list[str]:
    """The tasks whose deadline passed: each one an interrupting timer that fired is attached to. A diary's
    timer ends its period: nothing was missed then."""
    found = [engine.runtime.attached_task_id(timer, ended) for timer, ended in _deadlines(info, fired)
             if not info.task_meta.get(ended, {}).get("diary")]
    return [task_id for task_id in found if task_id]


def _missed_within(info, fired: list, cancelled: list[str]) -> None:
    """The tasks inside a subprocess whose deadline passed (its interrupting timer fired): missed too."""
    if not cancelled:
        return
    ended = {element for _timer, element in _deadlines(info, fired)}
    specs = [spec for spec, meta in info.task_meta.items() if ended & set(meta.get("within") or ())]
    _compiled.execute_many(MISSED_WITHIN, ({"task_id": task_id, "inner_spec": spec}
                                           for task_id in cancelled for spec in specs))


def _hears(instance, info, role: str | None, groups: list[str]) -> tuple[str, str | None] | None:
    """Who hears of something in ``role``'s lane: (audience, recipient), or None when nobody may.

    Only the client hears of a self-care pathway; a team hears only of a pathway it follows."""
    if audience(role, groups) == "client" or info.kind == "self-care":
        return "client", instance.client_id
    if role is not None and role not in info.teams:
        return None
    return "professional", role


def _notice(instance, kind: str, heard: tuple[str, str | None], source: str, text, at, task_id=None) -> dict:
    return {"instance_id": instance.id, "kind": kind, "audience": heard[0], "recipient": heard[1],
            "task_id": task_id, "source": source, "text": text, "created_at": at, "delivered_at": None,
            "read_at": None}


def reminders(instance, info, fired: list, at: datetime) -> list[dict]:
    """A notification for each firing of a timer that carries a reminder text."""
    notices = []
    for timer in fired:
        spec = engine.view(timer).spec
        meta = info.task_meta.get(spec, {})
        if not meta.get("reminder"):
            continue
        task_meta = info.task_meta.get(meta.get("attached_to") or "", {})
        heard = _hears(instance, info, meta.get("lane") or task_meta.get("lane"),
                       task_meta.get("candidate_groups") or [])
        if heard is not None:
            notices.append(_notice(instance, "reminder", heard, spec,
                                   render(meta["reminder"], engine.runtime.task_data(timer)), at,
                                   engine.runtime.attached_task_id(timer, meta.get("attached_to"))))
    return notices


def told(instance, info, changed: list, completed: set[str], at: datetime) -> list[dict]:
    """A notification for each event with a ``notify`` text that the step passed (what a reading means, say)."""
    notices = []
    for task in changed:
        spec = task.task_spec.bpmn_id
        meta = info.task_meta.get(spec or "", {})
        if meta.get("kind") != "notice" or str(task.id) not in completed:
            continue
        heard = _hears(instance, info, meta.get("lane"), [])
        text = render(meta["notify"], engine.runtime.task_data(task))
        if heard is not None and text and text.strip():
            notices.append(_notice(instance, "notice", heard, spec, text.strip(), at))
    return notices


# What an open task takes from its version: a task moved to another version is shown as that version has it.
FROM_VERSION = ("version_id", "spec", "title", "summary", "priority", "role", "audience", "queue", "candidate_groups",
                "form", "instructions")
REFRESH = update(TASKS).where(TASKS.c.id == bindparam("task_id")).values(
    **{name: bindparam(f"new_{name}") for name in FROM_VERSION})


def refresh_open(instance, info, workflow) -> None:
    """Write the instance's open tasks again as ``info``'s version has them (after a move to it): its titles,
    forms, teams and texts. When each opened, its due time and who has claimed it stay."""
    open_ids, _ = existing(instance.id)
    rows = []
    for task in engine.runtime.ready_tasks(workflow):
        view = engine.view(task)
        if view.human and view.id in open_ids:
            fresh = _human_task(instance, info, task, view, instance.updated_at)
            rows.append({"task_id": view.id, **{f"new_{name}": fresh[name] for name in FROM_VERSION}})
    _compiled.execute_many(REFRESH, rows)


def _close(closed: dict[str, str], actor: str, at) -> None:
    _compiled.execute_many(CLOSE, ({"task_id": task_id, "new_state": state, "at": at,
                                   "by": actor if state == "completed" else None}
                                  for task_id, state in closed.items()))


def _human_task(instance: Instance, info, task, view, at) -> dict:
    meta = info.task_meta.get(view.spec, {})
    lane, groups = meta.get("lane"), meta.get("candidate_groups") or []
    role, whose = lane or (groups[0] if groups else None), audience(lane, groups)
    # In its role's team inbox: a professional's task, of a client, on a pathway teams follow (not self-care).
    in_inbox = whose == "professional" and instance.client_id is not None and info.kind != "self-care"
    due_in = meta.get("due_in")
    data = engine.runtime.task_data(task)
    return dict(
        id=view.id,
        instance_id=instance.id,
        version_id=instance.version_id,
        client_id=instance.client_id,
        pathway_key=info.pathway_key,
        spec=view.spec,
        title=meta.get("title") or view.spec,
        summary=_line(render(meta.get("summary"), data)),
        priority=priority_of(meta.get("priority")),  # checked at deploy: 0–100
        role=role,
        audience=whose,
        queue=role if in_inbox else None,
        candidate_groups=groups,
        assignee=meta.get("assignee"),
        form=meta.get("form"),
        instructions=render(meta.get("instructions"), data, markdown=True),
        created_at=at,
        due_at=engine.runtime.due_after(at, due_in) if due_in else None,
        state="open",
    )


def _line(text: str | None) -> str | None:
    """A rendered summary as one line that fits its column."""
    line = " ".join((text or "").split())
    return (line[:297] + "…" if len(line) > 300 else line) or None
