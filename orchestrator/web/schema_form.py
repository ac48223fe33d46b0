"""A task's JSON Schema and UI schema as accessible form fields, and posted forms back as typed answers.

Arrays of objects post as ``<name>-<row>-<property>``; rows left wholly empty are dropped and the rest
renumbered, by ``parse`` and ``build`` alike, so error pointers and the rows on the page agree.
Not supported: nested objects, and arrays inside an array's rows.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterator
from datetime import date

import jsonschema
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from ..core import answers as form_schema
from ..core.answers import measurement_kind, range_message, reading_errors
from .numbers import typed_number

RADIO_LIMIT = 5  # more options than this become a select
UNIT_WIDGETS = {"text", "number", "integer", "range", "date"}
CHOICE_WIDGETS = {"radio", "select", "checkboxes", "radio-boolean", "checkbox-boolean"}
_MISSING = object()
_FINNISH_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


@dataclasses.dataclass
class Field:
    """One question on the page: an input, a group of radios or checkboxes, or an array's entries."""

    name: str
    id: str
    pointer: str
    label: str
    widget: str
    description: str = ""
    help: str = ""
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    step: str | int | None = None
    input_mode: str | None = None
    unit: str = ""
    options: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    placeholder: str = ""
    rows: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    autocomplete: str = "off"
    value: str = ""
    selected: list[str] = dataclasses.field(default_factory=list)  # the chosen options' values
    errors: list[str] = dataclasses.field(default_factory=list)
    items: list[list[Field]] = dataclasses.field(default_factory=list)
    entry: int | None = None  # inside an array's row: the row's number, from 1

    @property
    def describedby(self) -> str:
        """The ids of the unit, hints and error shown with the field, for ``aria-describedby``."""
        shown = {"unit": self.unit and self.widget in UNIT_WIDGETS, "description": self.description,
                 "help": self.help, "error": self.errors}
        return " ".join(f"{self.id}-{part}" for part, present in shown.items() if present)

    def walk(self) -> Iterator[Field]:
        """This field, then the fields in its entries."""
        yield self
        for row in self.items:
            for field in row:
                yield from field.walk()


def build(schema: dict, ui: dict | None = None, values: dict | None = None,
          errors: dict[str, list[str]] | None = None) -> list[Field]:
    """The form's fields in ``ui:order``, with values and error messages (by JSON pointer) to show.

    ``values`` is a posted form (a ``MultiDict``, or a dict holding one under ``"__raw__"``), which keeps
    what the person typed even when it could not be read, or typed answers such as a saved draft."""
    if values is not None and not hasattr(values, "getlist"):
        values = values["__raw__"] if "__raw__" in values else _as_form(schema, values)
    return _fields(schema, ui or {}, values or MultiDict(), errors or {}, "", "")


def _fields(schema: dict, ui: dict, form, errors: dict, prefix: str, pointer: str,
            entry: int | None = None) -> list[Field]:
    properties, required = schema.get("properties", {}), set(schema.get("required", []))
    return [_field(key, properties[key], ui.get(key) or {}, form, errors, prefix, pointer, key in required, entry)
            for key in form_schema.in_order(list(properties), ui.get("ui:order"))]


def _field(key: str, schema: dict, ui: dict, form, errors: dict, prefix: str, pointer: str, required: bool,
           entry: int | None) -> Field:
    name, at, options, widget = prefix + key, f"{pointer}/{key}", ui.get("ui:options") or {}, _widget(schema, ui)
    posted = form.getlist(key)
    return Field(
        name=name, id=f"f-{name}", pointer=at, label=ui.get("ui:title") or schema.get("title") or key, widget=widget,
        description=ui.get("ui:description") or schema.get("description", ""), help=ui.get("ui:help", ""),
        required=required, unit=form_schema.unit(schema, ui),
        options=_options(schema, ui),
        placeholder=ui.get("ui:placeholder", ""), rows=options.get("rows"), min_length=schema.get("minLength"),
        max_length=schema.get("maxLength"), autocomplete=ui.get("ui:autocomplete", "off"),
        value=(posted or [""])[-1], selected=[v for v in posted if v] if widget in CHOICE_WIDGETS else [],
        errors=list(errors.get(at, [])), entry=entry, **_bounds(schema),
        items=_entries(schema, ui, form, errors, key, name, at) if widget == "array" else [])


def _widget(schema: dict, ui: dict) -> str:
    kind, wanted, count = schema.get("type"), ui.get("ui:widget"), len(form_schema.choices(schema))
    if kind == "array":
        return "checkboxes" if form_schema.choices(schema.get("items") or {}) else "array"
    if kind == "boolean":
        return "checkbox-boolean" if wanted == "checkbox" else "radio-boolean"
    if count:
        return "radio" if wanted == "radio" or (count <= RADIO_LIMIT and wanted != "select") else "select"
    if kind in ("integer", "number"):
        return "range" if wanted == "range" else kind  # a range stays a text input: sliders are hard to use
    return "date" if schema.get("format") == "date" else "textarea" if wanted == "textarea" else "text"


def _bounds(schema: dict) -> dict:
    kind = schema.get("type")
    if kind not in ("integer", "number") or form_schema.choices(schema):
        return {}
    return {"minimum": schema.get("minimum", schema.get("exclusiveMinimum")),
            "maximum": schema.get("maximum", schema.get("exclusiveMaximum")),
            "exclusive_minimum": "minimum" not in schema and "exclusiveMinimum" in schema,
            "exclusive_maximum": "maximum" not in schema and "exclusiveMaximum" in schema,
            "step": "any" if kind == "number" else 1, "input_mode": "decimal" if kind == "number" else "numeric"}


def _entries(schema: dict, ui: dict, form, errors: dict, key: str, name: str, pointer: str) -> list[list[Field]]:
    """The entries given so far, then empty ones: up to ``minItems``, or one more, within ``maxItems``."""
    item, rows = schema.get("items") or {}, _posted_rows(form, key, schema.get("items") or {})
    count = max(len(rows), min(max(len(rows) + 1, schema.get("minItems", 0)), schema.get("maxItems", math.inf)))
    rows += [MultiDict() for _ in range(count - len(rows))]
    return [_fields(item, ui.get("items") or {}, row, errors, f"{name}-{i}-", f"{pointer}/{i}", i + 1)
            for i, row in enumerate(rows)]


def _posted_rows(form, key: str, item: dict) -> list[MultiDict]:
    """Each row's values keyed by property, in row order, without the rows left wholly empty."""
    pattern, properties = re.compile(rf"{re.escape(key)}-(\d+)-(.+)"), item.get("properties", {})
    rows: dict[int, MultiDict] = {}
    for name, values in form.lists():
        match = pattern.fullmatch(name)
        if match and match[2] in properties:
            rows.setdefault(int(match[1]), MultiDict()).setlist(match[2], values)
    return [rows[i] for i in sorted(rows) if any(v.strip() for vs in rows[i].listvalues() for v in vs)]


def _as_form(schema: dict, data: dict, prefix: str = "") -> MultiDict:
    """Typed answers as the form that would post them."""
    form = MultiDict()
    for key, value in data.items():
        sub = schema.get("properties", {}).get(key)
        if sub is None or value is None:
            continue
        if form_schema.rows(sub):
            for i, row in enumerate(value):
                form.update(_as_form(sub["items"], row, f"{prefix}{key}-{i}-"))
        else:
            form.setlist(prefix + key, [_token(v) for v in value] if isinstance(value, list) else [_token(value, sub)])
    return form


def parse(schema: dict, form) -> tuple[dict, dict[str, list[str]]]:
    """A posted form as the schema's types, leaving out empty inputs; also, by JSON pointer, what could
    not be read. A boolean's checkbox posts an empty hidden value before itself: unticked reads as false."""
    answers: dict = {}
    errors: dict[str, list[str]] = {}
    for key, sub in schema.get("properties", {}).items():
        try:
            value = _parse_rows(sub, form, key, errors) if form_schema.rows(sub) else _read(form.getlist(key), sub)
        except ValueError as problem:
            value, errors[f"/{key}"] = _MISSING, [str(problem)]
        if value is not _MISSING:
            answers[key] = value
    return answers, errors


def read(schema: dict, form) -> tuple[dict, dict[str, list[str]]]:
    """A posted form as typed answers, and what needs fixing by JSON pointer: what could not be read, else the
    checks of ``validate``."""
    answers, unread = parse(schema, form)
    return answers, {**validate(schema, answers, {at[1:] for at in unread}), **unread}


def _parse_rows(schema: dict, form, key: str, errors: dict) -> list | object:
    rows = [parse(schema["items"], row) for row in _posted_rows(form, key, schema["items"])]
    for i, (_answers, problems) in enumerate(rows):
        errors.update({f"/{key}/{i}{at}": found for at, found in problems.items()})
    return [answers for answers, _problems in rows] or _MISSING


def _read(values: list[str], schema: dict):
    """One field's posted strings as its type (ValueError saying what to enter), or _MISSING if left empty."""
    kind = schema.get("type")
    if kind == "array":
        allowed = form_schema.choices(schema.get("items") or {})
        return [_choose(v.strip(), allowed) for v in values if v.strip()] or _MISSING
    text = values[-1].replace("\r\n", "\n").strip() if values else ""
    if kind == "boolean" and values:
        return _choose({"on": "true", "": "false"}.get(text.lower(), text.lower()), [True, False])
    if not text:
        return _MISSING
    if form_schema.choices(schema):
        return _choose(text, form_schema.choices(schema))
    if kind in ("integer", "number"):
        return _number(text, schema)
    return _date(text) if schema.get("format") == "date" else text


def _choose(text: str, allowed: list):
    for value in allowed:
        if _token(value) == text:
            return value
    raise ValueError(_("Choose one of the options."))


def _number(text: str, schema: dict) -> int | float:
    """A typed number; a measurement's unit may follow it ("83,1 kg")."""
    value = typed_number(text, form_schema.unit(schema, {}) or None)
    if isinstance(value, int) or (value is not None and schema.get("type") == "number"):
        return value
    raise ValueError(_not_a_number(schema))


def _not_a_number(schema: dict) -> str:
    """What to enter when what was typed is no number of the field's kind: the kind and an example, never the
    range, which would suggest that the number was too small or too big."""
    kind = measurement_kind(schema)
    if kind is None and schema.get("type") == "integer":
        return _number_hint(schema)  # a whole number on a scale: the scale shows what to enter
    example = format_decimal(kind.example if kind else _example(schema))
    if schema.get("type") == "integer":
        return _("Enter a whole number, for example %(example)s.", example=example)
    return _("Enter a number, for example %(example)s.", example=example)


def _example(schema: dict) -> float:
    """A number with decimals inside the field's bounds, to show how one is written."""
    low, high = schema.get("minimum", -math.inf), schema.get("maximum", math.inf)
    if not (isinstance(low, int | float) and isinstance(high, int | float)) or low <= 72.5 <= high:
        return 72.5
    if math.isinf(low) or math.isinf(high):
        return (low if math.isfinite(low) else high) + (0.5 if math.isfinite(low) else -0.5)
    middle = round((low + high) / 2, 1)
    return middle + 0.5 if middle.is_integer() and middle + 0.5 <= high else middle


def _date(text: str) -> str:
    finnish = _FINNISH_DATE.fullmatch(text)
    try:
        day = date(int(finnish[3]), int(finnish[2]), int(finnish[1])) if finnish else date.fromisoformat(text)
    except ValueError:
        raise ValueError(_("Enter a date, for example 31.12.2026.")) from None
    return day.isoformat()


def validate(schema: dict, answers: dict, unread: set[str] = frozenset()) -> dict[str, list[str]]:
    """The schema's checks on the answers, and the measurements' own (a blood pressure needs both readings, the
    systolic above the diastolic), as plain-language messages keyed by the field's JSON pointer. A field named
    in ``unread`` was typed but could not be read: its pair is not told to enter both."""
    checker = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    found = messages([_described(error) for error in checker.iter_errors(answers)])
    for error in reading_errors(schema, {**dict.fromkeys(unread, ""), **answers}, _say):
        at = error["field"]
        kept = [] if answers.get(at[1:]) is None else found.get(at, [])  # the half left out: "both", not "required"
        found[at] = kept + [error["message"]] if error["message"] not in kept else kept
    return found


def _say(template: str, **values) -> str:
    """A message worded in ``core.answers``, in the reader's language with the numbers written their way."""
    return _(template, **{key: format_decimal(v) if isinstance(v, int | float) else v for key, v in values.items()})


def _described(error: jsonschema.ValidationError) -> dict:
    path, schema = [str(p) for p in error.absolute_path], error.schema
    if error.validator == "required":  # the missing field's own pointer, not its parent's
        missing = [n for n in error.validator_value if n not in error.instance and repr(n) in error.message][:1]
        path, schema = path + missing, schema.get("properties", {}).get(missing[0], {}) if missing else {}
    return {"field": "".join(f"/{p}" for p in path), "message": error.message, "validator": error.validator,
            "validator_value": error.validator_value, "schema": schema}


def messages(errors: list[dict]) -> dict[str, list[str]]:
    """Errors (``field``, ``message``; ``validator``, ``validator_value`` and the field's ``schema`` when
    known) as translated messages by pointer. Without the kind, a missing field is told from jsonschema's
    message, and anything else asks to check the answer."""
    found: dict[str, list[str]] = {}
    for error in errors:
        kind = error.get("validator") or ("required" if "required property" in error.get("message", "") else "")
        text = _EXPLAIN.get(kind, _EXPLAIN[""])(error.get("validator_value"), error.get("schema") or {})
        listed = found.setdefault(error.get("field", ""), [])
        listed += [] if text in listed else [text]
    return found


def _required(schema: dict) -> str:
    if schema.get("type") == "boolean" or form_schema.choices(schema) or form_schema.choices(schema.get("items") or {}):
        return _("Choose one of the options.")
    return _("This field is required.")


def _number_hint(schema: dict, crossed: str | None = None) -> str:
    """What to enter in a number field, given its bounds; ``crossed`` names the bound the answer crossed."""
    low, high, whole = schema.get("minimum"), schema.get("maximum"), schema.get("type") == "integer"
    with_unit = range_message(schema, _say) if crossed in (None, "minimum", "maximum") else None
    if with_unit:
        return with_unit
    if low is not None and high is not None and crossed in (None, "minimum", "maximum"):
        low, high = format_decimal(low), format_decimal(high)
        if whole:
            return _("Enter a whole number between %(min)s and %(max)s.", min=low, max=high)
        return _("Enter a number between %(min)s and %(max)s.", min=low, max=high)
    if crossed in _BOUNDS:
        return _BOUNDS[crossed](format_decimal(schema[crossed]))
    if whole:
        return _("Enter a whole number.")
    return _("Enter a number, for example %(example)s.", example=format_decimal(72.5))


_BOUNDS = {
    "minimum": lambda n: _("Enter a number that is %(min)s or more.", min=n),
    "maximum": lambda n: _("Enter a number that is %(max)s or less.", max=n),
    "exclusiveMinimum": lambda n: _("Enter a number greater than %(min)s.", min=n),
    "exclusiveMaximum": lambda n: _("Enter a number less than %(max)s.", max=n),
}
_EXPLAIN = {
    "": lambda value, schema: _("Check this answer."),
    "required": lambda value, schema: _required(schema),
    **{bound: (lambda value, schema, bound=bound: _number_hint(schema, bound)) for bound in _BOUNDS},
    "type": lambda value, schema: _number_hint(schema) if value in ("integer", "number")
    else _("Choose one of the options.") if value == "boolean" else _("Check this answer."),
    **dict.fromkeys(("enum", "oneOf", "anyOf"), lambda value, schema: _("Choose one of the options.")),
    "format": lambda value, schema: _("Enter a date, for example 31.12.2026.") if value == "date"
    else _("Check this answer."),
    "minLength": lambda value, schema: _required(schema) if value <= 1
    else ngettext("Write at least %(num)s character.", "Write at least %(num)s characters.", value),
    "maxLength": lambda value, schema: ngettext("Write at most %(num)s character.",
                                                "Write at most %(num)s characters.", value),
}


def _options(schema: dict, ui: dict) -> list[tuple[str, str]]:
    """(value, label) pairs as :func:`form_schema.options` gives them; Yes/No for a boolean."""
    item = (schema.get("items") or {}) if schema.get("type") == "array" else schema
    if item.get("type") == "boolean" and not form_schema.choices(item):
        return [("true", _l("Yes")), ("false", _l("No"))]
    return form_schema.options(schema, ui)


def _token(value, schema: dict | None = None) -> str:
    """A value as a form posts it; for a number input (given its schema), 72.5 as the reader writes it."""
    if isinstance(value, float) and schema is not None and not form_schema.choices(schema):
        return format_decimal(value, format="0.##########")
    return form_schema.token(value)
