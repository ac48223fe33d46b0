"""Pathway instances: one per client on a pathway."""

from flask.views import MethodView
from flask_smorest import Blueprint

from .. import queries, steps
from . import actor
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
        """List instances, newest first."""
        return queries.instances(**args)

    @blp.arguments(StartSchema)
    @blp.response(201, InstanceStateSchema)
    @blp.alt_response(404, description="no such pathway or version")
    def post(self, args):
        """Start an instance of a pathway (its latest version unless one is named)."""
        version = queries.version_or_404(args["pathway"], args.get("version"))
        instance = steps.start(version, actor(), args["variables"], args.get("business_key"), args.get("client_id"))
        return state(instance)


@blp.route("/<int(min=1, max=2147483647):instance_id>")
@blp.response(200, InstanceDetailSchema)
def get_instance(instance_id):
    """One instance with its open tasks, waiting timers and history."""
    return detail(queries.instance_or_404(instance_id))


@blp.route("/<int(min=1, max=2147483647):instance_id>/cancel", methods=["POST"])
@blp.arguments(CancelSchema)
@blp.response(200, InstanceStateSchema)
@blp.alt_response(409, description="the instance has already ended")
def cancel(args, instance_id):
    """Cancel a running instance; its open tasks and timers go with it."""
    return state(steps.cancel(instance_id, actor(), args.get("reason")))
