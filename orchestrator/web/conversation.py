"""The messages of a professional pathway: the client and the care team write to each other."""

from flask import Blueprint, redirect, render_template, request, url_for

from .. import messaging, queries
from ..clock import now
from ..steps import StepRefused
from . import access, guard

client_blp = Blueprint("client_messages", __name__, url_prefix="/me/pathways")
work_blp = Blueprint("work_messages", __name__, url_prefix="/work/pathways")
ROUTE = "/<int(max=2147483647):instance_id>/messages"


def _page(instance, sender: str, endpoint: str, purpose: str):
    access.record(instance.client_id, "messages", instance.id, purpose)
    error = None
    if request.method == "POST":
        person = guard.user().person
        try:
            messaging.send(instance, sender, guard.actor(), person.name, request.form.get("body", ""))
        except StepRefused as refused:
            error = refused
        else:
            return redirect(url_for(endpoint, instance_id=instance.id, sent=1) + "#new-message")
    messaging.mark_read(instance.id, sender)
    queries.mark_notifications_read(sender, instance.client_id if sender == "client" else messaging.team_of(instance),
                                    instance.id)
    client = queries.people_by_client([instance.client_id]).get(instance.client_id)
    return render_template("web/messages.html", instance=instance, messages=messaging.thread(instance.id),
                           sender=sender, endpoint=endpoint, error=error, now=now(), client=client,
                           may_send=messaging.may_message(instance)), error.status if error else 200


@client_blp.route(ROUTE, methods=["GET", "POST"])
@guard.signed_in("client")
def client(instance_id: int):
    """My messages with the care team of this pathway."""
    return _page(guard.instance_for(instance_id), "client", "client_messages.client", access.purpose())


@work_blp.route(ROUTE, methods=["GET", "POST"])
@guard.signed_in("professional")
def work(instance_id: int):
    """The client's messages on a pathway my team follows, and our replies."""
    return _page(guard.instance_for(instance_id), "professional", "work_messages.work", "care")
