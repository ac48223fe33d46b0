"""The organisation's metrics, from projected rows: ``report`` for one scope and period, ``table`` for many
pathways or periods at once, ``goals`` for a pathway's targets, with traffic lights; ``nps`` for any list
of 0–10 answers (a staff survey's), by the same definition as the pathways' NPS."""

from .goals import goals
from .report import Report, Scope, report
from .tables import KEYS, table
from .values import Metric, attainment, light, nps

__all__ = ["KEYS", "Metric", "Report", "Scope", "attainment", "goals", "light", "nps", "report", "table"]
