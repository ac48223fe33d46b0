"""The instances that stopped on an error, and those an operator holds, for the operators who answer them.

An incident is a failed script, a timer whose value cannot be read, a limit hit: the instance keeps the
state it reached, and stands on its incident (status ``incident``, or ``suspended`` with its incident
kept) until an operator retries the step, skips it, or ends the instance (``steps.handle_incident``).
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..extensions import db
from ..models import Instance, Pathway, PathwayVersion

STANDING = ("incident", "suspended")


@dataclass(frozen=True)
class Incident:
    instance_id: int
    pathway: str
    version: int
    status: str
    element: str | None
    message: str | None  # None: suspended without an incident
    at: datetime | None


def _standing(pathway: str | None):
    found = (select(Instance.id, Pathway.key, PathwayVersion.number, Instance.status, Instance.incident_element,
                    Instance.incident, Instance.incident_at)
             .join(PathwayVersion, PathwayVersion.id == Instance.version_id)
             .join(Pathway, Pathway.id == PathwayVersion.pathway_id)
             .where(Instance.status.in_(STANDING)))
    return found.where(Pathway.key == pathway) if pathway else found


def incidents(pathway: str | None = None, offset: int = 0, limit: int = 25) -> tuple[list[Incident], int]:
    """A page of the standing incidents and suspended instances, latest first, and how many there are (of one
    pathway when named)."""
    query = _standing(pathway)
    latest = func.coalesce(Instance.incident_at, Instance.updated_at)
    rows = db.session.execute(query.order_by(latest.desc(), Instance.id.desc())
                              .offset(offset).limit(limit)).all()
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    return [Incident(r.id, r.key, r.number, r.status, r.incident_element,
                     _message(r.incident, r.incident_element) if r.incident else None, r.incident_at)
            for r in rows], total


def _message(text: str, element: str | None) -> str:
    """What went wrong, without the element the text begins with (it is shown in a column of its own)."""
    prefix = f"{element or 'process'}: "
    return text[len(prefix):] if text.startswith(prefix) else text
