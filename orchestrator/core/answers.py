"""A task's form, and answers checked against its JSON Schema before the engine sees them."""

import json
from functools import lru_cache

import jsonschema

from ..models import HumanTask
from .refusal import N_, Refused
from .store import store


class InvalidAnswers(Refused):
    """Answers that do not fit the task's form (422); ``errors`` names each field."""

    def __init__(self, errors: list[dict]):
        super().__init__(422, N_("the answers do not fit the form"), errors)


def form_of(task: HumanTask) -> dict:
    """The task's form (JSON Schema) and UI schema, as its version declares them (None where it has none)."""
    info = store().info(task.version_id)
    meta = info.task_meta.get(task.spec, {})
    return {"form_schema": info.forms.get(task.form) if task.form else None,
            "ui_schema": info.forms.get(meta.get("ui_form")) if meta.get("ui_form") else None}


@lru_cache(maxsize=256)
def _validator(schema_json: str):
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def field_errors(schema: dict | None, data) -> list[dict]:
    """Each problem as {"field": JSON pointer, "message": ...}; empty when the data is valid."""
    if not isinstance(data, dict):
        return [{"field": "", "message": "the answers must be a JSON object"}]
    if not schema:
        return []
    validator = _validator(json.dumps(schema, sort_keys=True))
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [{"field": "/" + "/".join(str(p) for p in _path(e)), "message": e.message} for e in errors]


def _path(error) -> list:
    """The field a problem belongs to; a missing required field is named, not its parent."""
    path = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance and repr(name) in error.message]
        path += missing[:1]
    return path
