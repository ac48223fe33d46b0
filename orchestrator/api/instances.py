"""Pathway instances: one per client on a pathway."""

from flask.views import MethodView
from flask_smorest import Blueprint

from ..auth import guard
from ..core import queries, steps
from . import actor, log_shown
from .schemas import (
    CancelSchema,
    InstanceDetailSchema,
    InstanceQuerySchema,
    InstanceSchema,
    InstanceStateSchema,
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
    @blp.alt_response(404, description="no such pathway or version")
    def post(self, args):
        """Start an instance of a pathway (its latest version unless one is named).

        A client starts one for themselves; a professional for a client, on a pathway their team follows."""
        guard.require("client", "professional")
        version = queries.version_or_404(args["pathway"], args.get("version"))
        client_id = guard.starts_for(version, args.get("client_id"))
        instance = steps.start(version, actor(), args["variables"], args.get("business_key"), client_id)
        log_shown({instance.client_id: instance.id}, "instance")
        return state(instance)


@blp.route("/<int(min=1, max=2147483647):instance_id>")
@blp.response(200, InstanceDetailSchema)
def get_instance(instance_id):
    """One instance with its open tasks, waiting timers and history."""
    instance = guard.instance_for(instance_id)
    log_shown({instance.client_id: instance.id}, "instance")
    return detail(instance)


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
