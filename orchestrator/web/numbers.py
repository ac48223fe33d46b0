"""Numbers as people type them: a decimal comma or point, and the minus sign (U+2212) that Finnish number
formatting writes. Forms, free measurements and metric targets all read a typed number here."""

import math
import re

# Digits 0-9 only: other scripts' digits (which int() would read) are not what a reading is typed in here.
_WHOLE = re.compile(r"[-+]?[0-9]{1,30}")
_DECIMAL = re.compile(r"[-+]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")


def typed_number(text: str) -> int | float | None:
    """The number in ``text``: an int when it is whole, else a float; None when it is not a plain number
    (words, exponents, ``nan``, several numbers)."""
    text = text.strip().replace("\u2212", "-")
    if _WHOLE.fullmatch(text):
        return int(text)
    if not _DECIMAL.fullmatch(text):
        return None
    value = float(text.replace(",", "."))
    return value if math.isfinite(value) else None
