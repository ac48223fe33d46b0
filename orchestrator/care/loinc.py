"""The LOINC codes and UCUM units of Polku's measurements, one table read both ways.

Each kind of measurement (``engine.measurements.KINDS``) is recorded with its own LOINC code and UCUM unit, and the
FHIR export (``fhir_export.py``) writes it so. A FHIR ``Observation`` that comes in (a home meter's app, the patient
record system) is read back to a kind through the same table: the kind's own code, or another code that names the
same measurement; the blood-pressure panel with its two components; a unit the kind is recorded in or one converted
to it. Anything else is not known, and the caller is told which code or unit that was.
"""

from ..engine.measurements import KINDS

LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"

# Codes that name the same measurement as a kind's own: read when they come in, never written.
SAME_AS = {
    "56086-2": "waist",  # Adult waist circumference protocol NHANES
    "2339-0": "glucose",  # Glucose [Mass/volume] in Blood
    "15074-8": "glucose",  # Glucose [Moles/volume] in Blood
}
# Every code read as a single measurement: each kind's own (recorded and exported), then those above.
CODES: dict[str, str] = {**{kind.code: key for key, kind in KINDS.items()}, **SAME_AS}
# A panel's code with the kinds of its components (blood pressure: systolic and diastolic).
PANELS: dict[str, tuple[str, ...]] = {
    panel: tuple(key for key, kind in KINDS.items() if kind.panel == panel)
    for panel in dict.fromkeys(kind.panel for kind in KINDS.values() if kind.panel)}

# The UCUM units each kind is read in, with the factor to its own unit (the first). mmHg is UCUM's mm[Hg]; Polku
# records and exports it as "mmHg", which many devices also send.
UNITS: dict[str, dict[str, float]] = {
    "weight": {"kg": 1.0, "[lb_av]": 0.45359237},
    "waist": {"cm": 1.0, "[in_i]": 2.54},
    "glucose": {"mmol/L": 1.0, "mg/dL": 1 / 18.016},  # glucose: 180.16 g/mol
    "systolic": {"mmHg": 1.0, "mm[Hg]": 1.0},
    "diastolic": {"mmHg": 1.0, "mm[Hg]": 1.0},
}
assert all(next(iter(UNITS[key])) == kind.unit for key, kind in KINDS.items()), "a kind's own unit comes first"


def kind_of(code: str) -> str | None:
    """The kind of measurement a LOINC code names, or None."""
    return CODES.get(code)


def panel_of(code: str) -> tuple[str, ...] | None:
    """The kinds of a panel's components (by the panel's LOINC code), or None for a code that is no panel."""
    return PANELS.get(code)


def in_own_unit(key: str, value: float, unit: str) -> float | None:
    """A value given in ``unit`` as the kind records it (its own unit, to its own decimals); None for a unit this
    table does not know for the kind."""
    factor = UNITS[key].get(unit)
    if factor is None:
        return None
    return value if factor == 1.0 else round(value * factor, KINDS[key].decimals)


def known_codes() -> str:
    """The codes Polku reads, for a refusal to name: "29463-7 (weight), …, 85354-9 (blood-pressure panel)"."""
    singles = ", ".join(f"{code} ({key})" for code, key in CODES.items() if KINDS[key].panel is None)
    panels = ", ".join(f"{code} ({' and '.join(kinds)}: components {', '.join(KINDS[k].code for k in kinds)})"
                       for code, kinds in PANELS.items())
    return f"{singles}, {panels}"


def units_of(key: str) -> str:
    return ", ".join(UNITS[key])
