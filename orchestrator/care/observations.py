"""Measurements as typed observations: from a task's answers, or entered freely on the pathway page."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from ..core.database import insert_rows
from ..extensions import db
from ..models import Observation
from .measurements import KINDS, Kind, fields_of, score_fields


def rows_for(schema: dict | None, answers: dict, instance_id: int, client_id: str | None, task_id: str | None,
             actor: str, at: datetime) -> list[dict]:
    """An observation row for each measurement field the answers fill in (measured when sent)."""
    return [_row(kind, answers[name], instance_id, client_id, task_id, actor, at, at)
            for name, kind in fields_of(schema).items() if isinstance(answers.get(name), int | float)]


def score_rows(schema: dict | None, answers: dict, instance, task_spec: str, at: datetime) -> list[dict]:
    """A score row for each feedback or outcome answer (NPS, CES, PROM), without the client."""
    return [{"instance_id": instance.id, "pathway_key": instance.pathway, "version_id": instance.version_id,
             "kind": metric.partition(":")[0], "name": metric.partition(":")[2] or name, "task_spec": task_spec,
             "value": float(answers[name]), "at": at}
            for name, metric in score_fields(schema).items() if isinstance(answers.get(name), int | float)]


def _row(kind: Kind, value: float, instance_id: int, client_id: str | None, task_id: str | None, actor: str,
         measured_at: datetime, recorded_at: datetime) -> dict:
    return {"instance_id": instance_id, "client_id": client_id, "kind": kind.key, "code": kind.code,
            "panel": kind.panel, "value": float(value), "unit": kind.unit, "measured_at": measured_at,
            "recorded_at": recorded_at, "task_id": task_id, "recorded_by": actor}


def record(instance, values: dict[str, float], measured_at: datetime, actor: str, at: datetime) -> None:
    """Measurements the client entered freely on the pathway page."""
    insert_rows(Observation, [_row(KINDS[key], value, instance.id, instance.client_id, None, actor, measured_at, at)
                              for key, value in values.items()])
    db.session.commit()


@dataclass
class Series:
    """One kind of measurement over time, with the pathway's target range for it when it sets one."""

    kind: Kind
    points: list[tuple[datetime, float]] = field(default_factory=list)
    target: tuple[float, float] | None = None


def series(instance_id: int, targets: dict) -> list[Series]:
    """The instance's measurements, a series per kind, each oldest first."""
    found: dict[str, Series] = {}
    rows = db.session.scalars(select(Observation).where(Observation.instance_id == instance_id)
                              .order_by(Observation.measured_at, Observation.id))
    for row in rows:
        line = found.setdefault(row.kind, Series(KINDS[row.kind], target=tuple(targets[row.kind])
                                                 if row.kind in targets else None))
        line.points.append((row.measured_at, row.value))
    return [found[key] for key in KINDS if key in found]
