"""The measurements a pathway can ask for: what each is, its LOINC code, its unit and plausible range.

A form field names one with the JSON-Schema keyword ``"x-measurement": "<kind>"``; its value is then
stored as a typed observation, besides the answers. The range is what a device or a person can give
at all; a pathway's own ``minimum``/``maximum`` must lie inside it. Some kinds are read in pairs (blood
pressure: systolic with diastolic): in a form, the n-th field of the one kind pairs with the n-th of the
other, in property order, and a reading is whole only with both.

A kind's name is interface text, shown in the reader's language: its English name is the catalogue's msgid, and
the app passes its translation at start-up (:func:`use_translation`, as it passes its clock), so that the engine
stays apart from Flask.
"""

from collections.abc import Callable
from dataclasses import dataclass

_translate: list[Callable[[str], str]] = [str]


def N_(name: str) -> str:
    """Marks a kind's name for the translation catalogue; it is translated where it is shown (``Kind.label``)."""
    return name


def use_translation(gettext: Callable[[str], str]) -> None:
    """How a kind's name is put into the reader's language (the app's ``gettext``)."""
    _translate[0] = gettext


@dataclass(frozen=True)
class Kind:
    key: str
    code: str  # LOINC
    unit: str  # UCUM
    name: str  # in English, marked for translation
    low: float
    high: float
    example: float  # a typical reading, to show how one is written
    panel: str | None = None  # the LOINC panel it is part of (blood pressure)
    decimals: int = 1
    pair: str | None = None  # the kind this one is read with; set on the pair's first kind
    above_pair: bool = False  # the reading must be higher than its pair's (systolic over diastolic)

    @property
    def label(self) -> str:
        """The kind's name in the reader's language ("Paino", "Vikt", "Weight")."""
        return _translate[0](self.name)


KINDS = {k.key: k for k in (
    Kind("weight", "29463-7", "kg", N_("Weight"), 20, 350, 83.1),
    Kind("waist", "8280-0", "cm", N_("Waist circumference"), 40, 250, 92.5),
    Kind("glucose", "41653-7", "mmol/L", N_("Blood sugar"), 1, 35, 5.6),
    Kind("systolic", "8480-6", "mmHg", N_("Systolic pressure"), 60, 260, 128, panel="85354-9", decimals=0,
         pair="diastolic", above_pair=True),
    Kind("diastolic", "8462-4", "mmHg", N_("Diastolic pressure"), 30, 160, 82, panel="85354-9", decimals=0),
)}


def field_problems(schema: dict) -> list[str]:
    """What is wrong with a form's measurement fields: an unknown kind, a non-number, a range off the scale, a
    field of a pair without its partner."""
    problems = []
    for name, prop in (schema.get("properties") or {}).items():
        key = isinstance(prop, dict) and prop.get("x-measurement")
        if not key:
            continue
        kind = KINDS.get(key) if isinstance(key, str) else None
        if kind is None:
            problems.append(f"field '{name}': x-measurement '{key}' is not one of {', '.join(KINDS)}")
            continue
        if prop.get("type") not in ("number", "integer"):
            problems.append(f"field '{name}': a measurement ({key}) must be of type number")
        low, high = prop.get("minimum", kind.low), prop.get("maximum", kind.high)
        if not (isinstance(low, int | float) and isinstance(high, int | float)) or low < kind.low or high > kind.high:
            problems.append(f"field '{name}': {key} must lie within {kind.low:g}–{kind.high:g} {kind.unit}")
    for name in unpaired(schema):
        key = schema["properties"][name]["x-measurement"]
        first, second = next(pair for pair in _pairs_of_kinds() if key in pair)
        problems.append(f"field '{name}': this {key} field has no {second if key == first else first} field to "
                        f"pair with (the n-th {first} field pairs with the n-th {second}, in property order)")
    return problems


SCORES = {"nps": (0, 10), "ces": (1, 7)}  # feedback questions by their x-metric; "prom:<scale>" is any number


def score_fields(schema: dict | None) -> dict[str, str]:
    """The form's feedback and outcome fields by name: their x-metric (nps, ces, prom:<scale>)."""
    return {name: prop["x-metric"] for name, prop in ((schema or {}).get("properties") or {}).items()
            if isinstance(prop, dict) and isinstance(prop.get("x-metric"), str)}


def score_problems(schema: dict) -> list[str]:
    """Feedback fields must be numbers; NPS on 0–10 and CES on 1–7, as the standard measures are."""
    problems = []
    for name, metric in score_fields(schema).items():
        prop = schema["properties"][name]
        if metric not in SCORES and not (metric.startswith("prom:") and len(metric) > 5):
            problems.append(f"field '{name}': x-metric '{metric}' is not nps, ces or prom:<scale>")
        elif prop.get("type") not in ("integer", "number"):
            problems.append(f"field '{name}': a feedback answer ({metric}) must be a number")
        elif metric in SCORES and (prop.get("minimum"), prop.get("maximum")) != SCORES[metric]:
            problems.append(f"field '{name}': {metric} is asked on {SCORES[metric][0]}–{SCORES[metric][1]}")
    return problems


def fields_of(schema: dict | None) -> dict[str, Kind]:
    """The form's measurement fields by name."""
    return {name: KINDS[prop["x-measurement"]] for name, prop in ((schema or {}).get("properties") or {}).items()
            if isinstance(prop, dict) and isinstance(prop.get("x-measurement"), str) and prop["x-measurement"] in KINDS}


def _pairs_of_kinds() -> list[tuple[str, str]]:
    return [(kind.key, kind.pair) for kind in KINDS.values() if kind.pair]


def _paired(schema: dict | None) -> tuple[list[tuple[str, str]], list[str]]:
    fields, found, alone = fields_of(schema), [], []
    for first, second in _pairs_of_kinds():
        firsts = [name for name, kind in fields.items() if kind.key == first]
        seconds = [name for name, kind in fields.items() if kind.key == second]
        found += zip(firsts, seconds, strict=False)
        alone += firsts[len(seconds):] + seconds[len(firsts):]
    return found, alone


def pairs(schema: dict | None) -> list[tuple[str, str]]:
    """The form's paired measurement fields by name, each as (first, second): the n-th systolic field with the
    n-th diastolic, in property order."""
    return _paired(schema)[0]


def unpaired(schema: dict | None) -> list[str]:
    """The form's measurement fields whose kind is read in pairs but that have no field to pair with."""
    return _paired(schema)[1]


def plausible(schema: dict) -> dict:
    """The form's schema with each measurement field bounded by its plausible range where it sets none."""
    properties = dict(schema.get("properties") or {})
    for name, kind in fields_of(schema).items():
        properties[name] = {"minimum": kind.low, "maximum": kind.high, **properties[name]}
    return {**schema, "properties": properties}
