"""Pathway instances: one per client on a pathway."""

from flask import jsonify, make_response
from flask.views import MethodView
from flask_smorest import Blueprint

from ..auth import guard
from ..care import enrolment
from ..core import queries, steps
from ..models import Offer
from . import actor, log_shown
from .schemas import (
    CancelSchema,
    InstanceDetailSchema,
    InstanceQuerySchema,
    InstanceSchema,
    InstanceStateSchema,
    OfferSchema,
    StartSchema,
)
from .views import instance_detail as detail
from .views import instance_state as state

blp = Blueprint("instances", __name__, description="Pathway instances, their tasks and history")


@blp.route("")
class Instances(MethodView):
    @blp.arguments(InstanceQuerySchema, location="query")
    @blp.response(200, InstanceSchema(many=True))
    def get(self, args):
        """List the instances the caller may see, newest first."""
        guard.require("client", "professional")
        if guard.user().role == "client":
            args["client_id"] = guard.user().person.client_id
        found = [i for i in queries.instances(**args) if guard.may_see_instance(i)]
        log_shown({i.client_id: i.id for i in found}, "instance-list")
        return found

    @blp.arguments(StartSchema)
    @blp.response(201, InstanceStateSchema)
    @blp.alt_response(202, schema=OfferSchema, description="the pathway asks consent: it was offered to the client")
    @blp.alt_response(404, description="no such pathway or version")
    @blp.alt_response(409, description="the client is on this pathway already, or (a client's own start) it "
                                       "starts once they consent: `errors` holds what to consent to")
    def post(self, args):
        """Start a pathway (its latest version unless one is named), under the same rules as the pages.

        A client starts a self-care pathway for themselves; a professional opens one their team follows
        for a client. A pathway that asks consent waits for it: a client's own start answers 409 with the
        consent text to answer (`POST /api/v1/pathways/{key}/consent`), anyone else's start is an offer
        (202) that the client answers (`POST /api/v1/offers/{id}/consent`). A client is on a pathway once
        at a time."""
        guard.require("client", "professional")
        version = queries.version_or_404(args["pathway"], args.get("version"))
        client_id = guard.starts_for(version, args.get("client_id"))
        started = enrolment.start(version, client_id, actor(), guard.user().role == "client", args["variables"],
                                  args.get("business_key"))
        if isinstance(started, Offer):
            log_shown({started.client_id: started.id}, "offer")
            return make_response(jsonify(OfferSchema().dump(started)), 202)
        log_shown({started.client_id: started.id}, "instance")
        return state(started)


@blp.route("/<int(min=1, max=2147483647):instance_id>")
@blp.response(200, InstanceDetailSchema)
def get_instance(instance_id):
    """One instance with its open tasks, waiting timers and history."""
    instance = guard.instance_for(instance_id)
    log_shown({instance.client_id: instance.id}, "instance")
    return detail(instance)


@blp.route("/<int(min=1, max=2147483647):instance_id>/withdraw", methods=["POST"])
@blp.response(200, InstanceStateSchema)
@blp.alt_response(409, description="the pathway has already ended")
def withdraw(instance_id):
    """The client withdraws their consent: the pathway ends and stays in their history."""
    guard.client_in_person()
    instance = guard.instance_for(instance_id)
    ended = state(enrolment.withdraw(instance, actor()))
    log_shown({instance.client_id: instance.id}, "instance")
    return ended


@blp.route("/<int(min=1, max=2147483647):instance_id>/cancel", methods=["POST"])
@blp.arguments(CancelSchema)
@blp.response(200, InstanceStateSchema)
@blp.alt_response(409, description="the instance has already ended")
def cancel(args, instance_id):
    """Cancel a running instance; its open tasks and timers go with it (its care team, or a service)."""
    guard.require("professional")
    instance = guard.instance_for(instance_id)
    cancelled = state(steps.cancel(instance.id, actor(), args.get("reason")))
    log_shown({instance.client_id: instance.id}, "instance")
    return cancelled
