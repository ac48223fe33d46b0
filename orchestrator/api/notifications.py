"""Notifications: reminders and other messages Polku sent to clients and care teams."""

from flask_smorest import Blueprint

from .. import queries, steps
from .schemas import NotificationQuerySchema, NotificationSchema

blp = Blueprint("notifications", __name__, description="Reminders and other notifications, newest first")


@blp.route("")
@blp.arguments(NotificationQuerySchema, location="query")
@blp.response(200, NotificationSchema(many=True))
def list_notifications(args):
    """Notifications by recipient (a client's id or a team's role), instance, or unread."""
    return queries.notifications(**args)


@blp.route("/<int(min=1, max=2147483647):notification_id>/read", methods=["POST"])
@blp.response(200, NotificationSchema)
@blp.alt_response(404, description="no such notification")
def mark_read(notification_id):
    """Mark a notification read (the first time counts)."""
    return steps.mark_read(notification_id)
