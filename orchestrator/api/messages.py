"""Messages from outside (e.g. a lab result) to waiting instances; a payload is checked against the fields
the message declares (core/deliveries.py)."""

from flask_smorest import Blueprint, abort

from ..auth import guard
from ..core import queries, steps
from . import actor, log_shown
from .schemas import InstanceStateSchema, MessageSchema
from .views import instance_state as state

blp = Blueprint("messages", __name__, description="Named messages delivered to waiting instances")


@blp.route("", methods=["POST"])
@blp.arguments(MessageSchema)
@blp.response(200, InstanceStateSchema)
@blp.alt_response(404, description="no instance matches")
@blp.alt_response(409, description="the instance is not waiting for this message, or the key is ambiguous")
@blp.alt_response(422, description="the payload does not fit the message's declared fields; `errors` names each")
def deliver(args):
    """Deliver a message to one instance, named by `instance_id` or by `business_key` (and `pathway`)."""
    guard.require("professional")
    instance = guard.instance_for(_target(args))
    delivered = state(steps.deliver(instance.id, args["name"], args["payload"], actor()))
    log_shown({instance.client_id: instance.id}, "instance")
    return delivered


def _target(args) -> int:
    if args.get("instance_id"):
        return args["instance_id"]
    if not args.get("business_key"):
        abort(422, message="name the instance: instance_id or business_key",
              errors=[{"field": "/instance_id", "message": "instance_id or business_key is required"}])
    # Only instances the caller may see count: the answer tells nothing of anyone else's pathways.
    found = [i for i in queries.running_by_business_key(args["business_key"], args.get("pathway"))
             if guard.may_see_instance(i)]
    if not found:
        abort(404, message=f"no running instance has business key '{args['business_key']}'")
    if len(found) > 1:
        abort(409, message=f"{len(found)} running instances share business key '{args['business_key']}'; "
                           "name the pathway or the instance")
    return found[0].id
