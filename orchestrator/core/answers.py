"""A task's form, what each of its fields asks (title, options, unit, order), and answers checked against its JSON
Schema and the measurements' own rules before the engine sees them. The web's forms and the API check answers here
alike; the web words the same problems in the reader's language (``say``)."""

import json
from collections.abc import Callable
from functools import lru_cache

import jsonschema

from ..engine.measurements import KINDS, Kind, fields_of, pairs
from ..models import HumanTask
from .refusal import N_, Refused
from .store import store

RANGE = N_("Enter a value between %(min)s and %(max)s %(unit)s.")
BOTH = N_("Enter both %(first)s and %(second)s.")
NOT_ABOVE = N_("%(first)s (%(high)s) must be higher than %(second)s (%(low)s).")


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


def title(prop: dict, ui: dict, name: str) -> str:
    """A field's question: ``ui:title``, else the schema's ``title``, else its name."""
    return ui.get("ui:title") or prop.get("title") or name


def in_order(names: list[str], order: list | None) -> list[str]:
    """The fields in ``ui:order``, ``"*"`` standing for the rest; names it leaves out come last rather than vanish."""
    rest = [n for n in names if n not in (order or [])]
    ordered = [n for item in order or [] for n in (rest if item == "*" else [item] if item in names else [])]
    return ordered if "*" in (order or []) else ordered + rest


def choices(prop: dict) -> list:
    """What a field allows: ``enum``, or ``oneOf``/``anyOf`` of ``const``s; empty for a free answer."""
    if "enum" in prop:
        return list(prop["enum"])
    alternatives = prop.get("oneOf") or prop.get("anyOf") or []
    return [a["const"] for a in alternatives] if alternatives and all("const" in a for a in alternatives) else []


def options(prop: dict, ui: dict) -> list[tuple[str, str]]:
    """A choice's options as (the value as a form posts it, its title), titled by ``ui:enumNames`` or the
    alternatives' titles; of a list of choices, its items' options."""
    prop = (prop.get("items") or {}) if prop.get("type") == "array" else prop
    names = ui.get("ui:enumNames") or [a.get("title") for a in prop.get("oneOf") or prop.get("anyOf") or []]
    return [(token(v), names[i] if i < len(names) and names[i] else token(v)) for i, v in enumerate(choices(prop))]


def token(value) -> str:
    """A chosen value as a form posts it: ``true``/``false`` for a boolean, else its text."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def unit(prop: dict, ui: dict) -> str:
    """The unit a number is given in: the UI schema's, the field's own, else its measurement's."""
    kind = measurement_kind(prop)
    return (ui.get("ui:options") or {}).get("unit") or prop.get("unit") or (kind.unit if kind else "")


def rows(prop: dict) -> bool:
    """Whether the field is a list of entries, each with questions of its own."""
    return prop.get("type") == "array" and (prop.get("items") or {}).get("type") == "object"


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
    return [{"field": "/" + "/".join(str(p) for p in _path(e)), "message": _message(e)} for e in errors] + \
        reading_errors(schema, data)


def _message(error) -> str:
    """jsonschema's message, but a measurement out of its range is told the range and the unit."""
    if error.validator in ("minimum", "maximum") and isinstance(error.schema, dict):
        return range_message(error.schema) or error.message
    return error.message


def _english(template: str, **values) -> str:
    return template % {key: f"{v:g}" if isinstance(v, float) else v for key, v in values.items()}


def measurement_kind(prop: dict) -> Kind | None:
    """The measurement a field asks for (its ``x-measurement``), or None."""
    key = prop.get("x-measurement")
    return KINDS.get(key) if isinstance(key, str) else None


def range_message(prop: dict, say: Callable[..., str] = _english) -> str | None:
    """What to enter in a measurement field bounded on both sides, with its unit ("between 30 and 300 kg");
    None for any other field."""
    kind, low, high = measurement_kind(prop), prop.get("minimum"), prop.get("maximum")
    if kind is None or not (_number(low) and _number(high)):
        return None
    return say(RANGE, min=low, max=high, unit=kind.unit)


def reading_errors(schema: dict | None, answers: dict, say: Callable[..., str] = _english) -> list[dict]:
    """Readings that cannot both be right, as {"field", "message"} on each field of the pair: a pair given
    half (only a systolic), or, both within their ranges, one not above its pair (systolic 80, diastolic 120).
    ``say`` words a message from its template and values (numbers as numbers); in English unless told
    otherwise."""
    errors, kinds = [], fields_of(schema)
    for first, second in pairs(schema):
        names = {"first": _title(schema, first), "second": _title(schema, second)}
        high, low = answers.get(first), answers.get(second)
        if (high is None) != (low is None):
            message = say(BOTH, **names)
        elif kinds[first].above_pair and _within(schema, first, high) and _within(schema, second, low) \
                and high <= low:  # a reading out of its range is told the range first
            message = say(NOT_ABOVE, **names, high=high, low=low)
        else:
            continue
        errors += [{"field": f"/{first}", "message": message}, {"field": f"/{second}", "message": message}]
    return errors


def _title(schema: dict, name: str) -> str:
    title = schema["properties"][name].get("title")
    return title if isinstance(title, str) and title.strip() else name


def _within(schema: dict, name: str, value) -> bool:
    prop = schema["properties"][name]
    low, high = prop.get("minimum"), prop.get("maximum")
    return _number(value) and (not _number(low) or value >= low) and (not _number(high) or value <= high)


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _path(error) -> list:
    """The field a problem belongs to; a missing required field is named, not its parent."""
    path = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance and repr(name) in error.message]
        path += missing[:1]
    return path
