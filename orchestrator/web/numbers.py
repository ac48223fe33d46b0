"""Numbers as people type them: a decimal comma or point, the minus sign (U+2212) that Finnish number
formatting writes, and a measurement's unit after it. Forms, free measurements and metric targets all read a
typed number here."""

import math
import re

# Digits 0-9 only: other scripts' digits (which int() would read) are not what a reading is typed in here.
_WHOLE = re.compile(r"[-+]?[0-9]{1,30}")
_DECIMAL = re.compile(r"[-+]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")


def typed_number(text: str, unit: str | None = None) -> int | float | None:
    """The number in ``text``: an int when it is whole, else a float; None when it is not a plain number
    (words, exponents, ``nan``, several numbers). The ``unit`` of a measurement may follow it ("83,1 kg")."""
    text = text.strip().replace("\u2212", "-")
    if unit and text[-len(unit):].lower() == unit.lower():
        text = text[:-len(unit)].rstrip()
    if _WHOLE.fullmatch(text):
        return int(text)
    if not _DECIMAL.fullmatch(text):
        return None
    value = float(text.replace(",", "."))
    return value if math.isfinite(value) else None
