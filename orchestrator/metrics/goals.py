"""A pathway's targets: the package's ``goal:<metric>`` properties, and in their place those an administrator set."""

from sqlalchemy import select

from ..extensions import db
from ..models import MetricGoal, PathwayVersion


def goals(version: PathwayVersion) -> dict:
    """The targets of a pathway's metrics (metric key → number)."""
    chosen = {g.metric: g.value for g in db.session.scalars(
        select(MetricGoal).where(MetricGoal.pathway_key == version.pathway.key))}
    return {**((version.settings or {}).get("goals") or {}), **chosen}
