"""Delivering notifications (reminders) through a pluggable port.

A step writes Notification rows in its own transaction; delivery runs afterwards, claiming the
undelivered rows, handing each to the configured notifier and marking it delivered. A crash
between the two delivers late, never loses one. Email and SMS adapters implement ``Notifier``
and are named in ``POLKU_NOTIFIER``; the default writes to the log.
"""

import importlib
import logging
from typing import Protocol

from flask import current_app
from sqlalchemy import bindparam, select, update

from ..clock import now
from ..extensions import db
from ..models import HumanTask, Notification
from .database import core, for_update, write
from .store import store

log = logging.getLogger(__name__)
NOTIFICATIONS = Notification.__table__
_PENDING = (select(NOTIFICATIONS).where(NOTIFICATIONS.c.delivered_at.is_(None))
            .order_by(NOTIFICATIONS.c.id).limit(bindparam("limit")))
_DELIVERED = (update(NOTIFICATIONS).where(NOTIFICATIONS.c.id == bindparam("notification_id"))
              .values(delivered_at=bindparam("at")))


def told(task: HumanTask) -> list[str]:
    """What the step that completed ``task`` told its client at once (what a reading means, say), in order."""
    if task.completed_at is None or task.state != "completed":
        return []
    return told_at(task.instance_id, task.version_id, task.completed_at)


def unread_told(client_id: str, instance_id: int) -> list[str]:
    """What the pathway has told its client at once and she has not yet read (what a free reading means)."""
    return _told(instance_id, Notification.recipient == client_id, Notification.read_at.is_(None))


def told_at(instance_id: int, version_id: int, at) -> list[str]:
    """What the instance's step at ``at`` told its client at once; no query for a pathway that tells nothing."""
    if not any(meta.get("kind") == "notice" for meta in store().info(version_id).task_meta.values()):
        return []
    return _told(instance_id, Notification.created_at == at)


def _told(instance_id: int, *which) -> list[str]:
    """The texts of the instance's notices to its client (what it told her at once), in order."""
    return list(db.session.scalars(
        select(Notification.text).where(Notification.instance_id == instance_id, Notification.kind == "notice",
                                        Notification.audience == "client", *which).order_by(Notification.id)))


class Notifier(Protocol):
    def deliver(self, notification) -> None:
        """Send one notification (a row with kind, audience, recipient, text…); raise if it could not go."""


class LogNotifier:
    """Writes each notification to the log: the default until an email or SMS adapter is configured."""

    def deliver(self, notification) -> None:
        log.info("notification %s (%s) to %s %s: %s", notification.id, notification.kind, notification.audience,
                 notification.recipient or "-", notification.text)


def notifier() -> Notifier:
    found = current_app.extensions.get("polku_notifier")
    if found is None:
        module, _, name = current_app.config["POLKU_NOTIFIER"].partition(":")
        found = current_app.extensions["polku_notifier"] = getattr(importlib.import_module(module), name)()
    return found


def deliver_pending(batch: int = 100) -> int:
    """Deliver what is waiting, a batch per transaction; returns how many went out."""
    sent = 0
    while True:
        with write():
            rows = core().execute(for_update(_PENDING, skip_locked=True), {"limit": batch}).all()
            delivered = []
            for row in rows:
                try:
                    notifier().deliver(row)
                except Exception:  # noqa: BLE001 - a failed delivery stays pending and is tried again
                    log.exception("notification %s could not be delivered; it stays pending", row.id)
                    continue
                delivered.append({"notification_id": row.id, "at": now()})
            if delivered:
                core().execute(_DELIVERED, delivered)
        sent += len(delivered)
        if len(rows) < batch or not delivered:
            return sent
