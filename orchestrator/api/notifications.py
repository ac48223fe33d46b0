"""Notifications: reminders and other messages Polku sent to clients and care teams."""

from flask_smorest import Blueprint, abort

from ..auth import guard
from ..core import queries, steps
from ..extensions import db
from ..models import Notification
from . import log_shown
from .schemas import NotificationQuerySchema, NotificationSchema

blp = Blueprint("notifications", __name__, description="Reminders and other notifications, newest first")


@blp.route("")
@blp.arguments(NotificationQuerySchema, location="query")
@blp.response(200, NotificationSchema(many=True))
def list_notifications(args):
    """The caller's notifications by recipient (a client's id or a team's role), instance, or unread."""
    guard.require("client", "professional")
    if guard.user().role == "client":  # a client's own, asked of the database, not cut from everyone's
        args.update(audience="client", recipient=guard.user().person.client_id)
    found = [n for n in queries.notifications(**args) if guard.may_see_notification(n)]
    log_shown({n.instance_id: n.id for n in found}, "notification-list", by_instance=True)
    return found


@blp.route("/<int(min=1, max=2147483647):notification_id>/read", methods=["POST"])
@blp.response(200, NotificationSchema)
@blp.alt_response(404, description="no such notification")
def mark_read(notification_id):
    """Mark a notification read (the first time counts)."""
    guard.require("client", "professional")
    notification = db.session.get(Notification, notification_id)
    if notification is None or not guard.may_see_notification(notification):
        abort(404, message=f"notification {notification_id} not found")
    read = steps.mark_read(notification_id)
    log_shown({notification.instance_id: notification.id}, "notification", by_instance=True)
    return read
