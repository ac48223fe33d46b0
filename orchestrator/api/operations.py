"""Operating pathways: incidents, holding and resuming instances, moving them to a newer version, and the
systems subscribed to Polku's events.

For designers and administrators (and trusted systems). What they see of an instance is operational only:
its opaque id, status, version and incident, never its client or answers.
"""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..auth import guard
from ..core import incidents, migrating, queries, steps
from ..reach import webhooks
from . import actor

blp = Blueprint("operations", __name__, description="Incidents, suspending and resuming, and moving instances to "
                                                     "another version (designers and administrators)")
OPERATORS = ("designer", "admin")
ID = "<int(min=1, max=2147483647):instance_id>"


class IncidentQuerySchema(Schema):
    pathway = fields.String(validate=validate.Length(max=100))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=200))


class IncidentSchema(Schema):
    instance_id = fields.Integer()
    pathway = fields.String()
    version = fields.Integer()
    status = fields.String(metadata={"description": "incident, or suspended with its incident kept"})
    element = fields.String(allow_none=True, metadata={"description": "the BPMN element that failed"})
    message = fields.String(allow_none=True, metadata={"description": "what went wrong (none: only suspended)"})
    at = fields.DateTime(allow_none=True)


class IncidentPageSchema(Schema):
    total = fields.Integer()
    incidents = fields.List(fields.Nested(IncidentSchema))


class ReasonSchema(Schema):
    reason = fields.String(validate=validate.Length(max=1000), allow_none=True, metadata={
        "description": "why: kept in the instance's history (required to skip a step)"})


class OperatedSchema(Schema):
    """An instance as an operator sees it: no client, no answers."""

    id = fields.Integer()
    pathway = fields.String()
    version = fields.Integer(attribute="version_number")
    status = fields.String()
    incident = fields.String(allow_none=True)


class MigrationSchema(Schema):
    pathway = fields.String(required=True, validate=validate.Length(max=100))
    from_version = fields.Integer(required=True, validate=validate.Range(min=1))
    to_version = fields.Integer(required=True, validate=validate.Range(min=1))
    dry_run = fields.Boolean(load_default=True, metadata={"description": "only report what would happen (default)"})
    instances = fields.List(fields.Integer(validate=validate.Range(min=1)), validate=validate.Length(max=10_000),
                            metadata={"description": "only these instances of the version (default: all active)"})


class OutcomeSchema(Schema):
    instance_id = fields.Integer()
    status = fields.String()
    possible = fields.Boolean(metadata={"description": "whether it can move"})
    reason = fields.String(allow_none=True, metadata={"description": "why it cannot"})
    standing = fields.List(fields.String(), metadata={"description": "the elements it stands on"})
    changed = fields.List(fields.String(), metadata={"description": "those of them the new version changes"})
    added = fields.List(fields.String(), metadata={"description": "new elements ahead of it"})
    moved = fields.Boolean(metadata={"description": "moved in this call (never in a dry run)"})


class MigrationReportSchema(Schema):
    dry_run = fields.Boolean()
    outcomes = fields.List(fields.Nested(OutcomeSchema))


@blp.route("/incidents")
@blp.arguments(IncidentQuerySchema, location="query")
@blp.response(200, IncidentPageSchema)
def list_incidents(args):
    """The instances standing on an incident, and those suspended, latest first: the element that failed, what
    went wrong, when."""
    guard.require(*OPERATORS)
    found, total = incidents.incidents(args.get("pathway"), args["offset"], args["limit"])
    return {"total": total, "incidents": found}


@blp.route(f"/instances/{ID}/retry", methods=["POST"])
@blp.response(200, OperatedSchema)
@blp.alt_response(409, description="the instance has no incident")
def retry(instance_id):
    """Run the failed step again, as the instance's version has it now (after a migration to a fixed version,
    the fix). Failing again is a new incident."""
    guard.require(*OPERATORS)
    return steps.handle_incident(instance_id, actor(), "retry")


@blp.route(f"/instances/{ID}/skip", methods=["POST"])
@blp.arguments(ReasonSchema)
@blp.response(200, OperatedSchema)
@blp.alt_response(409, description="the instance has no incident")
@blp.alt_response(422, description="no reason given")
def skip(args, instance_id):
    """Pass the failed step by without running it; the reason is kept in the history."""
    guard.require(*OPERATORS)
    return steps.handle_incident(instance_id, actor(), "skip", args.get("reason"))


@blp.route(f"/instances/{ID}/suspend", methods=["POST"])
@blp.arguments(ReasonSchema)
@blp.response(200, OperatedSchema)
def suspend(args, instance_id):
    """Hold the instance: no task of it can be done and no timer of it fires until it is resumed."""
    guard.require(*OPERATORS)
    return steps.suspend(instance_id, actor(), args.get("reason"))


@blp.route(f"/instances/{ID}/resume", methods=["POST"])
@blp.response(200, OperatedSchema)
def resume(instance_id):
    """Let a suspended instance go on; timers that fell due meanwhile fire at once."""
    guard.require(*OPERATORS)
    return steps.resume(instance_id, actor())


@blp.route(f"/instances/{ID}/terminate", methods=["POST"])
@blp.arguments(ReasonSchema)
@blp.response(200, OperatedSchema)
@blp.alt_response(409, description="the instance has already ended")
def terminate(args, instance_id):
    """End the instance as cancelled (an operator's cancel; a care team cancels through ``/cancel``): its open
    tasks and timers go with it, and it stays readable as history."""
    guard.require(*OPERATORS)
    return steps.cancel(instance_id, actor(), args.get("reason"))


@blp.route("/migrations")
class Migrations(MethodView):
    @blp.arguments(MigrationSchema)
    @blp.response(200, MigrationReportSchema)
    @blp.alt_response(404, description="no such pathway or version")
    def post(self, args):
        """Move a version's active instances to another version of the pathway, or (``dry_run``, the default)
        only report, per instance, whether it can move, where it stands and what changes there. An instance
        standing on a task the new version lacks cannot; each that can moves in a transaction of its own."""
        guard.require(*OPERATORS)
        source = queries.version_or_404(args["pathway"], args["from_version"])
        target = queries.version_or_404(args["pathway"], args["to_version"])
        outcomes = migrating.run(source, target, actor(), args["dry_run"], args.get("instances"))
        return {"dry_run": args["dry_run"], "outcomes": outcomes}


class SubscribeSchema(Schema):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    event_types = fields.List(fields.String(validate=validate.OneOf(webhooks.TYPES)), required=True,
                              validate=validate.Length(min=1))


class SubscriptionSchema(Schema):
    id = fields.Integer()
    url = fields.String()
    event_types = fields.List(fields.String())
    created_by = fields.String()
    created_at = fields.DateTime()


class SubscribedSchema(SubscriptionSchema):
    secret = fields.String(metadata={"description": "the HMAC key of its signatures: shown in this answer only"})


@blp.route("/webhooks")
class Webhooks(MethodView):
    @blp.response(200, SubscriptionSchema(many=True))
    def get(self):
        """The subscriptions in force (administrators)."""
        guard.require("admin")
        return webhooks.subscriptions()

    @blp.arguments(SubscribeSchema)
    @blp.response(201, SubscribedSchema)
    def post(self, args):
        """Subscribe a system's URL to event types: each event is sent as a CloudEvents 1.0 document with the
        header ``X-Polku-Signature: sha256=<HMAC-SHA256 of the body with the secret>``. The secret is in this
        answer only."""
        guard.require("admin")
        return webhooks.subscribe(args["url"], args["event_types"], actor())[0]


@blp.route("/webhooks/<int(min=1, max=2147483647):subscription_id>", methods=["DELETE"])
@blp.response(204)
def end_webhook(subscription_id):
    """End a subscription: nothing more is sent to it."""
    guard.require("admin")
    webhooks.unsubscribe(subscription_id)
