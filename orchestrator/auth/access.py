"""The access log: every response that shows a client's data writes one row (Act 703/2023)."""

from flask import request
from sqlalchemy import or_, select

from ..clock import now
from ..core.database import insert_rows, write
from ..extensions import db
from ..models import AccessLog, Disclosure
from . import sessions


def record(client_id: str, object_type: str, object_id, purpose: str) -> None:
    """Log that the signed-in user is shown this client's data; committed before the page is built."""
    record_each({client_id: object_id}, object_type, purpose)


def record_each(shown: dict[str, object], object_type: str, purpose: str) -> None:
    """One row for each client a list shows (client id -> the object shown of theirs)."""
    done = sessions.per_request()
    if done.get("access_logged"):
        raise RuntimeError("a request logs its access once")
    user, at = sessions.current(), now()
    # Read before the write begins: beginning it ends the read transaction, and what was loaded is reloaded.
    who, person_id, role = (user.person.name if user.person else user.name), user.person and user.person.id, user.role
    route = (request.endpoint or request.path)[:200]
    with write():
        insert_rows(AccessLog, [{"at": at, "person_id": person_id, "actor": who, "role": role, "client_id": client_id,
                                 "object_type": object_type, "object_id": str(object_id)[:100], "purpose": purpose,
                                 "route": route}
                                for client_id, object_id in shown.items()])
    done["access_logged"] = True


def viewed_by_others(client_id: str, person_id: int | None, limit: int = 200) -> list[AccessLog]:
    """Who has viewed a client's data, newest first, leaving out the client's own views (``person_id``): the
    client asks who else has processed it, and their own visits would bury the answer."""
    query = select(AccessLog).where(AccessLog.client_id == client_id)
    if person_id is not None:
        query = query.where(or_(AccessLog.person_id.is_(None), AccessLog.person_id != person_id))
    return list(db.session.scalars(query.order_by(AccessLog.id.desc()).limit(limit)))


def purpose() -> str:
    """Why the data is shown: the client's own use, or care given by a professional."""
    return {"client": "own-data", "service": "integration"}.get(sessions.current().role, "care")


def disclose(what: str, client_id: str | None) -> None:
    """Log an export leaving Polku (a client's FHIR bundle, a metrics CSV: ``client_id`` None)."""
    user = sessions.current()
    with write():
        insert_rows(Disclosure, [{"at": now(), "person_id": user.person.id if user.person else None,
                                  "actor": user.person.name if user.person else user.name, "role": user.role,
                                  "client_id": client_id, "what": what, "detail": request.full_path[:300]}])
