"""What a pathway's consent page says about the pathway's length, against its ``duration`` setting.

The client consents to the wording of the consent page, so a length stated there must be the length
the pathway really has. Only statements *about the pathway's length* are read; any other number in
the text (a reply within 2 working days, measuring for 7 days, a retest after three months) is not.
Only the consent page is read: the other pages speak of a part of the pathway (a week of diaries)
more often than of the whole, and the consent page is the one the client agrees to.

The rule, in Finnish, Swedish and English alike. The page is cut into clauses: a clause ends at
``. ! ? ; ,`` followed by a space, at the end of a line that a list item, a heading or a blank line
follows, and at the end of the page (Markdown emphasis is ignored). A *length* is a number in digits
or in words (``3``, ``kolme``, ``kolmen``, ``tre``, ``three``; a range ``2–3``), or none for one
(``viikon``, ``a week``), followed by a unit: day, week, month or year in any of its forms
(``viikkoa``, ``viikon``, ``veckor``, ``weeks``, ``12-week``). A clause states the pathway's length
when a length stands in one of these places, and nowhere else:

1. after the pathway as the subject and a verb of lasting, with at most three words between them and
   only qualifiers (``noin``, ``enintään``, ``about``, ``i``...) between the verb and the length:
   ``Polku kestää kolme viikkoa``, ``Stigen varar i tre veckor``, ``The pathway lasts for 12 weeks``;
2. after the pathway's length as a noun: ``Polun kesto on 3 viikkoa``, ``Stigens längd är``,
   ``The length of the pathway is``, or a clause that begins ``Kesto:`` / ``Längd:`` / ``Duration:``;
3. before a word for the pathway, as its attribute: ``12 viikon valmennus``, ``en tre veckors stig``,
   ``a 12-week programme``; or between the pathway and ``mittainen``/``pituinen``/``lång``/``long``:
   ``Polku on 3 viikon mittainen``, ``The pathway is 3 weeks long``.

The pathway is named by ``polku``/``valmennus`` (and compounds: ``itsehoitopolku``), ``stig``/``stigen``
(``vårdstigen``), ``programmet``, ``pathway``/``programme``/``program``, or by the pathway's own name.
A subject must be in its basic form, so ``Polulla mittaat 7 päivän ajan`` (on the pathway you measure
for 7 days) is not a length, nor is any ``ajan``/``for`` phrase without a verb of lasting.
Statements a reader could not check against a number (``muutaman viikon``, ``a few weeks``) are not
read, nor is a length split over two sentences: the check never guesses, so a page that states no
length gives no problem.

A stated length agrees when its days overlap the setting's: a day is 1 day, a week 7, a month 30 to
31 and a year 365 to 366, on both sides, so ``P3M`` is "3 kuukautta" or "13 viikkoa" (91 days) but not
"12 viikkoa". ``noin``/``enintään`` do not widen it: the page states the number the setting has.
"""

import re
from dataclasses import dataclass

from .problems import Problem

# ------------------------------------------------------------------------------------------------ numbers

_FI_CASES = {  # nominative, genitive, partitive, illative, translative
    1: ("yksi", "yhden", "yhtä", "yhteen", "yhdeksi"), 2: ("kaksi", "kahden", "kahta", "kahteen", "kahdeksi"),
    3: ("kolme", "kolmen", "kolmea", "kolmeen", "kolmeksi"), 4: ("neljä", "neljän", "neljää", "neljään", "neljäksi"),
    5: ("viisi", "viiden", "viittä", "viiteen", "viideksi"), 6: ("kuusi", "kuuden", "kuutta", "kuuteen", "kuudeksi"),
    7: ("seitsemän", "seitsemän", "seitsemää", "seitsemään", "seitsemäksi"),
    8: ("kahdeksan", "kahdeksan", "kahdeksaa", "kahdeksaan", "kahdeksaksi"),
    9: ("yhdeksän", "yhdeksän", "yhdeksää", "yhdeksään", "yhdeksäksi"),
    10: ("kymmenen", "kymmenen", "kymmentä", "kymmeneen", "kymmeneksi"),
}
_TENS_NOMINATIVE = "kymmentä"  # kaksikymmentä: the tens of a nominative are a partitive


def _finnish_numbers() -> dict[str, float]:
    words: dict[str, float] = {"puoli": 0.5, "puolen": 0.5, "puolitoista": 1.5, "puolentoista": 1.5}
    for case in range(5):
        for n in range(1, 100):
            tens, ones = divmod(n, 10)
            if n <= 10:
                word = _FI_CASES[n][case]
            elif n < 20:
                word = _FI_CASES[ones][case] + "toista"
            else:
                word = _FI_CASES[tens][case] + (_TENS_NOMINATIVE if case == 0 else _FI_CASES[10][case]) + \
                    (_FI_CASES[ones][case] if ones else "")
            words.setdefault(word, n)
    return words


_SV = "två tre fyra fem sex sju åtta nio tio elva tolv tretton fjorton femton sexton sjutton arton nitton tjugo"
_EN = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
       "eighteen nineteen twenty")
NUMBER_WORDS: dict[str, float] = {
    **_finnish_numbers(),
    **{w: i + 2 for i, w in enumerate(_SV.split())}, "en": 1, "ett": 1, "halvt": 0.5,
    **{w: i + 1 for i, w in enumerate(_EN.split())}, "a": 1, "an": 1, "half a": 0.5,
}


def number(text: str) -> float | None:
    """A number written in digits (``12``, ``1,5``) or in Finnish, Swedish or English words, or None."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(?:[.,]\d+)?", text):
        return float(text.replace(",", "."))
    return NUMBER_WORDS.get(text)


# ------------------------------------------------------------------------------------------------ lengths

UNITS = {  # a unit's days, shortest and longest; and its forms
    "day": ((1, 1), r"päiv(?:ä|ää|än|äksi|ät|äinen|äisen)|vuoroka(?:usi|utta|uden|udeksi)|dag(?:ar|ars|s|en)?"
                    r"|dygn|days?"),
    "week": ((7, 7), r"viik(?:ko|koa|on|oksi|ot|koinen|koisen)|veck(?:a|or|ors|as|an)|weeks?"),
    "month": ((30, 31), r"kuuka(?:usi|utta|uden|udeksi|udet|utinen|utisen)|månad(?:er|ers|s|en)?|months?"),
    "year": ((365, 366), r"vuo(?:si|tta|den|deksi|tinen|tisen)|år(?:s|et)?|years?"),
}
_WORDS = "|".join(sorted((re.escape(w) for w in NUMBER_WORDS), key=len, reverse=True))
_NUMBER = rf"(?:\d+(?:[.,]\d+)?|(?:{_WORDS})(?!\w))"
_UNIT = rf"(?<!\w)(?P<unit>{'|'.join(f'(?P<{u}>{forms})' for u, (_, forms) in UNITS.items())})(?!\w)"


def _length(counted: bool) -> str:
    """A number (a range), then a unit; without a number the unit is one of it, unless ``counted``."""
    return rf"(?:(?P<n>{_NUMBER})(?:\s*[–-]\s*(?P<m>{_NUMBER}))?[\s-]+){'' if counted else '?'}{_UNIT}"


# --------------------------------------------------------------------------------------- where a length is

PATHWAY = r"\w*polku|\w*valmennus|\w*stig|\w*stigen|programmet|pathway|programme|program"
PATHWAY_OF = r"\w*polun|\w*valmennuksen|\w*stigens|programmets|(?:pathway|programme|program)'s"
LASTS = r"kestää|jatkuu|on\s+käytössä(?:si|nne)?|varar|pågår|lasts|runs|takes|continues"
QUALIFIER = (r"noin|enintään|korkeintaan|yhteensä|vain|ainoastaan|suunnilleen|arviolta|tavallisesti|yleensä"
             r"|i|ungefär|cirka|ca|högst|totalt|sammanlagt|bara|omkring|for|about|around|approximately|roughly"
             r"|up\s+to|at\s+most|only|just|in\s+total|a\s+total\s+of")
LENGTH_NOUN = r"kesto|pituus|längd|length|duration"
IS = r"on|är|is"
LONG = r"mittainen|pituinen|lång|long"


def _forms(subject: str) -> list[re.Pattern]:
    """The places of the module docstring where a length is the pathway's, as patterns of one clause."""
    qualified = rf"(?:\s+(?:{QUALIFIER}))*\s+{_length(counted=False)}"
    subject = rf"(?<!\w)(?:{subject})(?!\w)"
    return [re.compile(p, re.IGNORECASE) for p in (
        rf"{subject}(?:\s+\S+){{0,3}}?\s+(?:{LASTS}){qualified}",
        rf"(?:(?<!\w)(?:{PATHWAY_OF})\s+(?:{LENGTH_NOUN})|(?<!\w)(?:{LENGTH_NOUN})\s+of\s+the\s+(?:{PATHWAY})"
        rf"|^\s*(?:{LENGTH_NOUN})(?=\s*:))(?:\s+(?:{IS}))?\s*:?{qualified}",
        rf"(?<!\w){_length(counted=True)}\s+{subject}",
        rf"{subject}(?:\s+\S+){{0,3}}?\s+(?:{IS}){qualified}\s+(?:{LONG})(?!\w)",
    )]


_PLAIN_FORMS = _forms(PATHWAY)
_BREAK = re.compile(r"\n(?=[ \t]*(?:\n|[-*+#>]|\d+[.)]\s))")  # a blank line, a list item or a heading follows
_STOP = re.compile(r"[.!?;,](?=\s|$)")  # ends a clause; the comma of "1,5" does not


@dataclass(frozen=True)
class Stated:
    """A length the text gives the pathway: as written, in days (shortest, longest), and its line."""
    text: str
    days: tuple[float, float]
    line: int


def stated_lengths(text: str, name: str | None = None) -> list[Stated]:
    """Every statement of the pathway's length in ``text``, by the rule of the module docstring;
    ``name``, the pathway's own name, may stand for it too."""
    words = (name or "").split()
    forms = _forms(PATHWAY + "|" + r"\s+".join(map(re.escape, words))) if words else _PLAIN_FORMS
    # Every replacement is one character for one, so an offset in the plain text is one in the page.
    plain = _STOP.sub("\x00", _BREAK.sub("\x00", re.sub(r"[*_`]", " ", text)))
    found: dict[int, Stated] = {}
    for clause in re.finditer(r"[^\x00]+", plain):
        for pattern in forms:
            for match in pattern.finditer(clause.group(0)):
                days = _days(match)
                start = match.start("n") if match.group("n") else match.start("unit")
                at = clause.start() + start
                if days is not None and at not in found:
                    phrase = " ".join(clause.group(0)[start:match.end("unit")].split())
                    found[at] = Stated(phrase, days, text.count("\n", 0, at) + 1)
    return [found[at] for at in sorted(found)]


def _days(match: re.Match) -> tuple[float, float] | None:
    (low, high), _ = next(UNITS[u] for u in UNITS if match.group(u))
    first = number(match.group("n")) if match.group("n") else 1
    last = number(match.group("m")) if match.group("m") else first
    if first is None or last is None:
        return None
    return first * low, last * high


# ------------------------------------------------------------------------------------------------ the check

_ISO = re.compile(r"(\d+(?:[.,]\d+)?)([YMWDHS])")
_ISO_DAYS = {"Y": (365, 366), "M": (30, 31), "W": (7, 7), "D": (1, 1)}
_ISO_TIME = {"H": 1 / 24, "M": 1 / 1440, "S": 1 / 86400}


def duration_days(iso: str) -> tuple[float, float]:
    """An ISO-8601 duration (already checked) in days, shortest and longest: ``P3M`` is 90 to 93."""
    date_part, _, time_part = iso.strip()[1:].partition("T")
    low = high = 0.0
    for amount, unit in _ISO.findall(date_part):
        value = float(amount.replace(",", "."))
        low, high = low + value * _ISO_DAYS[unit][0], high + value * _ISO_DAYS[unit][1]
    time = sum(float(a.replace(",", ".")) * _ISO_TIME[u] for a, u in _ISO.findall(time_part))
    return low + time, high + time


def _shown(days: tuple[float, float]) -> str:
    low, high = days
    if low == high:
        return f"{low:g} day" if low == 1 else f"{low:g} days"
    return f"{low:g}–{high:g} days"


def consent_problems(page: str, text: str, duration: str | None, name: str | None = None) -> list[Problem]:
    """Each statement of the consent page about the pathway's length that its ``duration`` does not have.

    ``duration`` must be valid ISO-8601 or None (a pathway that runs until it is ended)."""
    problems = []
    for stated in stated_lengths(text, name):
        if duration is None:
            reason = f'the text says "{stated.text}" but the pathway has no duration setting'
        else:
            real = duration_days(duration)
            if stated.days[0] <= real[1] and real[0] <= stated.days[1]:
                continue
            reason = f'the text says "{stated.text}" but the pathway\'s duration is {duration} ({_shown(real)})'
        problems.append(Problem(page, reason, line=stated.line))
    return problems
