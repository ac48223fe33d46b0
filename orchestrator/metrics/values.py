"""A metric's value with its target and traffic light, and the one definition of the NPS.

Attainment is the value as a percentage of its target: value ÷ target where more is better, target ÷ value
where less is better (a reply time of 24 h against a target of 48 h is 200 %). The light is green at ≥ 100 %,
yellow at 85–99 %, red below 85 %, as the follow-up model has it. Shown, an attainment is a whole per cent
rounded down (99.9 % is yellow: shown as 99 %, never as 100 %), and anything above ``CAP`` is shown as "> 200 %".
"""

import math
from dataclasses import dataclass

from .names import LESS_IS_BETTER, UNITS

CAP = 200  # attainments above this many per cent are shown as "> 200 %": far past the target, no more to say
PROMOTER, DETRACTOR = 9, 6  # on the NPS scale 0–10: promoters answer 9 or more, detractors 6 or less


@dataclass(frozen=True)
class Definition:
    key: str
    unit: str  # count, %, h, score
    higher_is_better: bool = True


DEFINITIONS = {key: Definition(key, unit, key not in LESS_IS_BETTER) for key, unit in UNITS.items()}


@dataclass
class Metric:
    key: str
    value: float | None
    basis: int = 0  # how many rows the value is computed from (answers, messages…)
    target: float | None = None

    @property
    def definition(self) -> Definition:
        return DEFINITIONS[self.key]

    @property
    def attainment(self) -> float | None:
        """The value as a percentage of its target (the other way round where less is better)."""
        return attainment(self.value, self.target, self.definition.higher_is_better)

    @property
    def light(self) -> str | None:
        return light(self.attainment)

    @property
    def shown_attainment(self) -> tuple[int, bool] | None:
        """The attainment as shown: (whole per cent, capped); None without a target."""
        return shown(self.attainment)


def attainment(value: float | None, target: float | None, higher_is_better: bool = True) -> float | None:
    if value is None or target is None or target <= 0 and higher_is_better:
        return None
    if higher_is_better:
        return value / target * 100
    return float("inf") if value <= 0 else target / value * 100


def shown(attained: float | None) -> tuple[int, bool] | None:
    """An attainment as people read it: whole per cent rounded down (so that the number never crosses a light's
    boundary the light did not), and (``CAP``, True) above ``CAP``."""
    if attained is None:
        return None
    return (CAP, True) if attained > CAP else (math.floor(attained), False)


def light(attained: float | None) -> str | None:
    """green at ≥ 100 %, yellow at 85–99.9… %, red below 85 %; None without a target."""
    if attained is None:
        return None
    return "green" if attained >= 100 else "yellow" if attained >= 85 else "red"


def nps_score(promoters: float, detractors: float, answers: float) -> float | None:
    """The Net Promoter Score: per cent promoters less per cent detractors; None without answers. The one
    definition: ``tables`` gives it the counts of its grouped queries, ``nps`` those of a list of answers."""
    if not answers:
        return None
    return 100 * (promoters - detractors) / answers


def nps(values: list[float]) -> float | None:
    """The NPS of answers on the scale 0–10 (a staff survey's, say): promoters 9–10, detractors 0–6."""
    return nps_score(sum(v >= PROMOTER for v in values), sum(v <= DETRACTOR for v in values), len(values))
