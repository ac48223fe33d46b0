"""A metric's value with its target and traffic light, and the one definition of the NPS.

Attainment is the value as a percentage of its target (the other way round where less is better);
the light is green at ≥ 100 %, yellow at 85–99 %, red below 85 %, as the follow-up model has it.
"""

from dataclasses import dataclass

from .names import LESS_IS_BETTER, UNITS

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


def attainment(value: float | None, target: float | None, higher_is_better: bool = True) -> float | None:
    if value is None or target is None or target <= 0 and higher_is_better:
        return None
    if higher_is_better:
        return value / target * 100
    return float("inf") if value <= 0 else target / value * 100


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
