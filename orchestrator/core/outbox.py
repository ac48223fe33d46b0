"""The transactional outbox: what a step has to send goes out after it commits, once, however many processes run.

A step writes its messages (a reminder's e-mail or SMS to the client who chose one, a webhook call) as
``outbox`` rows in its own transaction, so a message exists exactly when the step does. After commit a
sender claims due rows for a short lease in a transaction of its own (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL: another process passes them by), sends each through its channel, and records the attempt: sent,
or tried again later with a growing pause, or dead after ``POLKU_OUTBOX_ATTEMPTS`` tries. A sender killed
mid-send leaves its lease to run out; the row is then tried again, carrying the same ``reference`` so that
its receiver can tell it has had it.
"""

import logging
import secrets
from datetime import datetime, timedelta
from typing import Protocol

from flask import current_app
from sqlalchemy import bindparam, func, or_, select, update

from ..clock import now
from ..extensions import db
from ..models import DeliveryAttempt, Outgoing
from .database import core, for_update, insert_rows, write

log = logging.getLogger(__name__)
OUTBOX = Outgoing.__table__
BATCH = 10  # rows claimed at once: a batch is sent well within its lease (each send has its channel's timeout)
FIRST_PAUSE, LONGEST_PAUSE = timedelta(seconds=30), timedelta(hours=1)
_DUE = (select(OUTBOX).where(OUTBOX.c.status == "pending", OUTBOX.c.due_at <= bindparam("at"),
                             or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < bindparam("at")))
        .order_by(OUTBOX.c.due_at, OUTBOX.c.id).limit(bindparam("limit")))
_CLAIM = (update(OUTBOX).where(OUTBOX.c.id == bindparam("row_id"))
          .values(claimed_until=bindparam("until"), attempts=OUTBOX.c.attempts + 1))
# Only the sender that holds the lease records the outcome: one whose lease ran out lost the row to another.
_DONE = (update(OUTBOX).where(OUTBOX.c.id == bindparam("row_id"), OUTBOX.c.claimed_until == bindparam("lease"))
         .values(status=bindparam("new_status"), sent_at=bindparam("sent"), due_at=bindparam("next"),
                 claimed_until=None, last_error=bindparam("error")))


class Undelivered(Exception):
    """A channel could not send a row; the message says why (kept with the attempt)."""


class Channel(Protocol):
    def send(self, row) -> str:
        """Send one outbox row; return what the receiver answered, raise Undelivered if it did not take it."""


def message(channel: str, recipient: str, body: str, kind: str, instance_id: int | None = None,
            subject: str | None = None, due_at: datetime | None = None, headers: dict | None = None,
            reference: str | None = None) -> dict:
    """An outbox row to insert in the current transaction (``add``)."""
    at = now()
    return {"channel": channel, "recipient": recipient, "subject": subject, "body": body, "kind": kind,
            "headers": headers, "instance_id": instance_id, "status": "pending",
            "reference": reference or f"polku-{secrets.token_hex(12)}",
            "attempts": 0, "due_at": due_at or at, "claimed_until": None, "created_at": at, "sent_at": None,
            "last_error": None}


def add(rows: list[dict]) -> None:
    """Write outbox rows in the transaction at hand (a step's): they are sent once it commits."""
    insert_rows(Outgoing, rows)


def channels() -> dict[str, Channel]:
    """The app's channels by name (email, sms, webhook), as configured (``reach/channels.py``)."""
    return current_app.extensions["polku_channels"]


def send_due(limit: int = BATCH) -> int:
    """Send what is due, a claimed batch at a time; returns how many were sent."""
    sent = 0
    while True:
        claimed, lease = _claim(limit)
        for row in claimed:
            sent += _send(row, lease)
        if len(claimed) < limit:
            if sent:
                log.info("sent %d outbox message(s)", sent)
            return sent


def _claim(limit: int) -> tuple[list, datetime]:
    at = now()
    lease = at + timedelta(seconds=current_app.config["POLKU_OUTBOX_LEASE_SECONDS"])
    with write():
        rows = core().execute(for_update(_DUE, skip_locked=True), {"at": at, "limit": limit}).all()
        if rows:
            core().execute(_CLAIM, [{"row_id": row.id, "until": lease} for row in rows])
    return rows, lease


def _send(row, lease: datetime) -> int:
    channel = channels().get(row.channel)
    try:
        if channel is None:
            raise Undelivered(f"no channel '{row.channel}' is configured")
        answer, ok = channel.send(row), True
    except Undelivered as exc:
        answer, ok = str(exc), False
    except Exception as exc:  # noqa: BLE001 - a channel's own failure is a failed attempt, tried again
        log.exception("outbox %s: sending by %s failed", row.id, row.channel)
        answer, ok = f"{type(exc).__name__}: {exc}", False
    _record(row, lease, ok, answer)
    return int(ok)


def _record(row, lease: datetime, ok: bool, answer: str) -> None:
    at = now()
    attempts = row.attempts + 1
    dead = not ok and attempts >= current_app.config["POLKU_OUTBOX_ATTEMPTS"]
    with write():
        done = core().execute(_DONE, {"row_id": row.id, "lease": lease, "sent": at if ok else None,
                                      "new_status": "sent" if ok else "dead" if dead else "pending",
                                      "next": row.due_at if ok or dead else at + pause(attempts),
                                      "error": None if ok else answer[:2000]})
        if done.rowcount:
            insert_rows(DeliveryAttempt, [{"outgoing_id": row.id, "at": at, "ok": ok, "detail": answer[:2000]}])
    if dead:
        log.warning("outbox %s (%s to %s) is dead after %s attempts: %s", row.id, row.channel, row.kind,
                    attempts, answer)


def pause(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure: 30 s, doubling, at most an hour."""
    return min(FIRST_PAUSE * 2 ** (attempts - 1), LONGEST_PAUSE)


def state() -> dict[str, int]:
    """How many rows are pending, sent and dead, and how many of the pending are due now (for the console)."""
    counts = dict(db.session.execute(select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status)).all())
    due = db.session.scalar(select(func.count()).select_from(OUTBOX)
                            .where(OUTBOX.c.status == "pending", OUTBOX.c.due_at <= now()))
    return {"pending": counts.get("pending", 0), "sent": counts.get("sent", 0), "dead": counts.get("dead", 0),
            "due": due or 0}


def dead(limit: int = 10) -> list:
    """The latest messages given up on: channel, kind, attempts, when created and the last error (no address)."""
    return db.session.execute(select(OUTBOX.c.id, OUTBOX.c.channel, OUTBOX.c.kind, OUTBOX.c.attempts,
                                     OUTBOX.c.created_at, OUTBOX.c.last_error)
                              .where(OUTBOX.c.status == "dead").order_by(OUTBOX.c.id.desc()).limit(limit)).all()
