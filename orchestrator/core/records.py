"""What a completed task records besides its event, in the step's own transaction: an observation for each
measurement its form asks for, and a score (NPS, CES, PROM) for each feedback or outcome answer."""

from datetime import datetime

from ..engine.measurements import Kind, fields_of, score_fields


def rows_for(schema: dict | None, answers: dict, instance_id: int, client_id: str | None, task_id: str | None,
             actor: str, at: datetime) -> list[dict]:
    """An observation row for each measurement field the answers fill in (measured when sent)."""
    return [observation_row(kind, answers[name], instance_id, client_id, task_id, actor, at, at)
            for name, kind in fields_of(schema).items() if isinstance(answers.get(name), int | float)]


def score_rows(schema: dict | None, answers: dict, instance, task_spec: str, at: datetime) -> list[dict]:
    """A score row for each feedback or outcome answer (NPS, CES, PROM), without the client."""
    return [{"instance_id": instance.id, "pathway_key": instance.pathway, "version_id": instance.version_id,
             "kind": metric.partition(":")[0], "name": metric.partition(":")[2] or name, "task_spec": task_spec,
             "value": float(answers[name]), "at": at}
            for name, metric in score_fields(schema).items() if isinstance(answers.get(name), int | float)]


def observation_row(kind: Kind, value: float, instance_id: int, client_id: str | None, task_id: str | None,
                    actor: str, measured_at: datetime, recorded_at: datetime) -> dict:
    """One typed observation (LOINC code, UCUM unit), as the ``observation`` table stores it."""
    return {"instance_id": instance_id, "client_id": client_id, "kind": kind.key, "code": kind.code,
            "panel": kind.panel, "value": float(value), "unit": kind.unit, "measured_at": measured_at,
            "recorded_at": recorded_at, "task_id": task_id, "recorded_by": actor}
