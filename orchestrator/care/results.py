"""A pathway's results: the process variables its package declares as results (process property ``results``, e.g.
the FINDRISC total and risk band), with their current values, and nothing else of the instance's data.

"Current" is the data as the instance's last completed step left it on the pathway (SpiffWorkflow's last task of
the top-level process; of a completed instance, the data it ended with), read from the stored state rows: the
engine is not loaded.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select

from .. import engine
from ..engine.state import TOP
from ..extensions import db
from ..models import Instance, TaskState


@dataclass
class Result:
    name: str
    label: str
    value: Any
    set: bool  # whether the variable has a value yet (the test may not have been answered)


def declared(instance: Instance) -> list[dict]:
    """What the instance's version declares as its results, in order: each ``name`` with its ``label``."""
    return list((instance.version.settings or {}).get("results") or [])


def of(instance: Instance) -> list[Result]:
    """The declared results with their current values; a variable the pathway has not set yet has none."""
    wanted = declared(instance)
    data = _current_data(instance.id) if wanted else {}
    return [Result(r["name"], r["label"], _plain(data[r["name"]]) if r["name"] in data else None, r["name"] in data)
            for r in wanted]


def _current_data(instance_id: int) -> dict:
    head = db.session.scalar(select(Instance.head).where(Instance.id == instance_id)) or {}
    last = head.get("last_task")
    doc = last and db.session.scalar(select(TaskState.doc).where(TaskState.instance_id == instance_id,
                                                                 TaskState.scope == TOP, TaskState.task_id == last))
    data = json.loads(doc).get("data") if doc else head.get("data")
    return data if isinstance(data, dict) else {}


def _plain(value):
    """A stored value as JSON: restored as the engine wrote it (a date is a date), then dates as ISO 8601 text."""
    restored = engine.codec().registry.restore(value)
    return json.loads(json.dumps(restored, default=_iso))


def _iso(value) -> str:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)
