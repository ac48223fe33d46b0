"""Task data is checked against the task's JSON Schema before the engine sees it."""

import json
from functools import lru_cache

import jsonschema


class InvalidAnswers(Exception):
    """Answers that do not fit the task's form; ``errors`` names each field."""

    def __init__(self, errors: list[dict]):
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


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
