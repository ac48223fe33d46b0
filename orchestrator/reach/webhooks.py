"""Events for other systems: each step's events, as CloudEvents 1.0 documents, to the subscribed URLs.

An administrator subscribes a system's URL to event types (``flask webhooks add``, ``POST /api/v1/webhooks``).
A step writes a webhook call for each of its events and each subscription to its type as outbox rows in
its own transaction, so a system hears of a step exactly when it happened; the outbox sends them after
commit. Each document is signed: ``X-Polku-Signature: sha256=<hex>``, the HMAC-SHA256 of the body with the
subscription's secret, for the receiver to check before it believes it. An event carries ids only (the
instance, its pathway and version, the task and its element, a task's priority): a system that needs more
asks the API with its own credential, under the guard and the access log.
"""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from cloudevents.core.bindings.http import to_structured_event
from cloudevents.core.v1.event import CloudEvent
from flask import current_app
from sqlalchemy import select

from ..clock import now
from ..core import outbox
from ..core.database import write
from ..core.refusal import N_, Refused
from ..extensions import db
from ..models import Subscription

PREFIX = "fi.polku."
TYPES = ("instance.started", "instance.ended", "task.opened", "task.completed", "alert.raised", "message.received")
URGENT = 50  # a professional's task above routine priority is an alert


def subscribe(url: str, event_types: list[str], actor: str) -> tuple[Subscription, str]:
    """Register a subscription; returns it with its secret (shown this once)."""
    unknown = sorted(set(event_types) - set(TYPES))
    if not event_types or unknown:
        raise Refused(422, N_("event types must be some of %(types)s, not %(unknown)s"), types=", ".join(TYPES),
                      unknown=", ".join(unknown) or "none")
    if not url.startswith(("https://", "http://")):
        raise Refused(422, N_("the URL must be an http(s) address"))
    secret = secrets.token_urlsafe(32)
    with write():
        found = Subscription(url=url, secret=secret, event_types=sorted(set(event_types)), created_by=actor,
                             created_at=now())
        db.session.add(found)
    _changed()
    return found, secret


def unsubscribe(subscription_id: int) -> None:
    with write():
        found = db.session.get(Subscription, subscription_id)
        if found is None or found.ended_at is not None:
            raise Refused(404, N_("subscription %(subscription)s not found"), subscription=subscription_id)
        found.ended_at = now()
    _changed()


def subscriptions() -> list[Subscription]:
    """The subscriptions in force."""
    return list(db.session.scalars(select(Subscription).where(Subscription.ended_at.is_(None))
                                   .order_by(Subscription.id)))


@dataclass(frozen=True)
class InForce:
    url: str
    secret: str
    event_types: tuple[str, ...]


def in_force() -> list[InForce]:
    """The subscriptions in force as a step writes to them: read at most once a second per process (a step
    should not pay a query for them), at once after a change made in this process."""
    cached = current_app.extensions.get("polku_subscriptions")
    if cached is None or cached[0] < time.monotonic():
        found = [InForce(s.url, s.secret, tuple(s.event_types)) for s in subscriptions()]
        cached = current_app.extensions["polku_subscriptions"] = (time.monotonic() + 1.0, found)
    return cached[1]


def _changed() -> None:
    current_app.extensions.pop("polku_subscriptions", None)


def events(instance, info, kind: str, event: dict, projected) -> list[tuple[str, dict]]:
    """The step's events for other systems, in the order they happened: (type, data), ids only."""
    base = {"instance": instance.id, "pathway": info.pathway_key, "version": info.number}
    found = []
    if kind == "started":
        found.append(("instance.started", base))
    if kind == "task_completed":
        found.append(("task.completed", {**base, "task": event.get("task_id"), "element": event.get("spec")}))
    if kind == "message_delivered":
        found.append(("message.received", {**base, "message": event.get("spec")}))
    for task in projected.opened if projected is not None else []:
        opened = {**base, "task": task["id"], "element": task["spec"], "priority": task["priority"],
                  "audience": task["audience"], "team": task["queue"]}
        found.append(("task.opened", opened))
        if task["audience"] == "professional" and task["priority"] > URGENT:
            found.append(("alert.raised", opened))
    if instance.status in ("completed", "cancelled"):  # an ended instance takes no more steps: it ended in this one
        found.append(("instance.ended", {**base, "status": instance.status}))
    return found


def calls(happened: list[tuple[str, dict]], to: list[InForce]) -> list[dict]:
    """An outbox row per event and subscription to its type: the signed CloudEvents document to send."""
    rows = []
    source = f"{current_app.config['POLKU_PUBLIC_URL'].rstrip('/')}/api/v1"
    for event_type, data in happened:
        for subscription in to:
            if event_type not in subscription.event_types:
                continue
            reference = f"polku-{secrets.token_hex(12)}"
            event = CloudEvent({"type": PREFIX + event_type, "source": source, "id": reference, "time": now(),
                                "subject": f"instances/{data['instance']}", "datacontenttype": "application/json"},
                               data)
            message = to_structured_event(event)
            headers = {**message.headers, "X-Polku-Signature": sign(message.body, subscription.secret)}
            rows.append(outbox.message("webhook", subscription.url, message.body.decode(), event_type,
                                       data["instance"], headers=headers, reference=reference))
    return rows


def sign(body: bytes, secret: str) -> str:
    """The signature a receiver checks: the body's HMAC-SHA256 with the subscription's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def in_step(instance, info, kind: str, event: dict, projected) -> None:
    """The step's events, to each subscription in force (registered as a step's writer)."""
    happened = events(instance, info, kind, event, projected)
    if happened:
        found = in_force()
        if found:
            outbox.add(calls(happened, found))
