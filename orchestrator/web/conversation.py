"""The messages of a professional pathway: the client and the care team write to each other."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth import access, guard
from ..care import messaging
from ..clock import now
from ..core import queries

client_blp = Blueprint("client_messages", __name__, url_prefix="/me/pathways")
work_blp = Blueprint("work_messages", __name__, url_prefix="/work/pathways")
ROUTE = "/<int(max=2147483647):instance_id>/messages"


def _page(instance, sender: str, endpoint: str, purpose: str):
    access.record(instance.client_id, "messages", instance.id, purpose)
    person = guard.user().person
    # A client writes to the team; of the teams that follow the pathway, its message team answers.
    answers = sender == "client" or messaging.team_of(instance) in person.team_keys
    error, status = None, 200
    if request.method == "POST":
        body = messaging.clean(request.form.get("body", ""))
        refused = messaging.refusal(instance, sender, person.team_keys, body)
        if refused is not None:  # shown beside the message typed, which stays in its field
            error, status = refused.translated(_), refused.status
        else:
            messaging.send(instance, sender, guard.actor(), person.name, body, person.team_keys)
            return redirect(url_for(endpoint, instance_id=instance.id, sent=1) + "#new-message")
    if answers:
        messaging.mark_read(instance.id, sender)
        queries.mark_notifications_read(sender, instance.client_id if sender == "client"
                                        else messaging.team_of(instance), instance.id)
    client = queries.people_by_client([instance.client_id]).get(instance.client_id)
    return render_template("web/messages.html", instance=instance, messages=messaging.thread(instance.id),
                           sender=sender, endpoint=endpoint, error=error, now=now(), client=client,
                           may_send=answers and messaging.may_message(instance), team=messaging.team_of(instance),
                           answers=answers), status


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
