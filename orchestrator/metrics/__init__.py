"""The organisation's metrics, from projected rows: ``report`` for one scope and period, ``table`` for many
pathways or periods at once, ``goals`` for a pathway's targets, with traffic lights."""

from .goals import goals
from .report import Metric, Report, Scope, attainment, light, report
from .tables import KEYS, table

__all__ = ["KEYS", "Metric", "Report", "Scope", "attainment", "goals", "light", "report", "table"]
