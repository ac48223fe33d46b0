"""Signed-in sessions: a random id in an HttpOnly cookie, the session itself a row that sign-out removes."""

import secrets
from datetime import timedelta

from flask import current_app, request, session
from sqlalchemy import delete

from ..clock import now
from ..core.database import write
from ..extensions import db
from ..models import Person, UserSession

TOUCH_EVERY = timedelta(seconds=60)  # how stale ``seen_at`` may get before a request writes it


def per_request() -> dict:
    """What this request has found out (``g`` lives as long as the app context, which may be longer)."""
    return request.environ.setdefault("polku", {})


def current() -> UserSession | None:
    """This request's signed-in session, or None (also when it has been idle too long)."""
    found = per_request()
    if "user" not in found:
        found["user"] = _load()
    return found["user"]


def _load() -> UserSession | None:
    sid = session.get("sid")
    if not sid:
        return None
    found = db.session.get(UserSession, sid)
    if found is None:
        session.clear()
        return None
    at = now()
    if at - found.seen_at > timedelta(minutes=current_app.config["POLKU_IDLE_MINUTES"]):
        end()
        per_request()["expired"] = True
        return None
    if at - found.seen_at > TOUCH_EVERY:
        with write():
            found.seen_at = at
    return found


def begin(person: Person, role: str, method: str) -> UserSession:
    """A new session with a new id: whatever the browser held before is dropped (no fixation)."""
    at = now()
    with write():
        _drop()
        started = UserSession(id=secrets.token_urlsafe(32), person=person, role=role, method=method,
                              created_at=at, seen_at=at)
        db.session.add(started)
    session["sid"] = started.id
    per_request()["user"] = started
    return started


def end() -> None:
    with write():
        _drop()
    per_request()["user"] = None


def _drop() -> None:
    """Forget the browser's session and delete its row; the chosen language stays."""
    sid, lang = session.get("sid"), session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    if sid:
        db.session.execute(delete(UserSession).where(UserSession.id == sid))
