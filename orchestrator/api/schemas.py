"""Request and response schemas of the REST API; the OpenAPI document is generated from these."""

from datetime import date

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, post_dump, pre_dump, validate

from ..core import deliveries
from ..metrics.names import MEANINGS
from ..metrics.periods import BY, MOST_PERIODS
from .views import Detail


class ProblemSchema(Schema):
    file = fields.String()
    element = fields.String(allow_none=True)
    line = fields.Integer(allow_none=True)
    reason = fields.String()


class VersionSchema(Schema):
    number = fields.Integer()
    content_hash = fields.String()
    process_id = fields.String()
    name = fields.String()
    deployed_by = fields.String()
    deployed_at = fields.DateTime()
    messages = fields.List(fields.String())


class VersionDetailSchema(VersionSchema):
    task_meta = fields.Dict(keys=fields.String(), values=fields.Dict())
    forms = fields.Dict(keys=fields.String(), values=fields.Dict())


class PathwaySchema(Schema):
    key = fields.String()
    name = fields.String()
    created_at = fields.DateTime()
    latest = fields.Nested(VersionSchema, allow_none=True)
    versions = fields.List(fields.Nested(VersionSchema))


class DeployFilesSchema(Schema):
    package = Upload(metadata={"description": "a zip of the package's .bpmn, .dmn and .json files"})
    files = fields.List(Upload(), metadata={"description": "the package's files, one part each"})


class CoveredSchema(Schema):
    all = fields.List(fields.String(), metadata={"description": "the ids, sorted"})
    covered = fields.List(fields.String(), metadata={"description": "those the scenarios covered"})


class CoverageSchema(Schema):
    scenarios = fields.List(fields.Dict(keys=fields.String(), values=fields.String()),
                            metadata={"description": "each scenario's name and file"})
    nodes = fields.Nested(CoveredSchema, metadata={"description": "flow nodes: covered when a task of it completed"})
    flows = fields.Nested(CoveredSchema, metadata={"description": "sequence flows: covered when one was taken"})


class DeployResultSchema(Schema):
    pathway = fields.String(attribute="pathway.key")
    version = fields.Integer(attribute="version.number")
    created = fields.Boolean(metadata={"description": "false when the same content was already deployed"})
    coverage = fields.Nested(CoverageSchema, attribute="version.coverage", metadata={
        "description": "what the package's scenarios (*.scenario.json) covered; left out when it has none"})

    @post_dump
    def _without_coverage(self, data: dict, **kwargs) -> dict:
        if data.get("coverage") is None:
            data.pop("coverage", None)
        return data


class StartSchema(Schema):
    pathway = fields.String(required=True, validate=validate.Length(min=1, max=100))
    version = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                             metadata={"description": "a version number; the latest when left out"})
    business_key = fields.String(validate=validate.Length(max=200), allow_none=True)
    client_id = fields.String(validate=validate.Length(max=100), allow_none=True)
    variables = fields.Dict(keys=fields.String(), load_default=dict)


class HumanTaskSchema(Schema):
    id = fields.String()
    instance_id = fields.Integer()
    pathway = fields.String(attribute="pathway_key")
    spec = fields.String()
    title = fields.String()
    summary = fields.String(allow_none=True, metadata={"description": "the task's line in an inbox, its values "
                                                                       "filled in (the pathway's `summary`)"})
    priority = fields.Integer(metadata={"description": "0–100, higher first; 50 is routine, above it urgent"})
    role = fields.String(allow_none=True)
    audience = fields.String()
    candidate_groups = fields.List(fields.String())
    assignee = fields.String(allow_none=True)
    form = fields.String(allow_none=True)
    instructions = fields.String(allow_none=True)
    state = fields.String()
    created_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)


class DeliveredValueSchema(Schema):
    key = fields.String(metadata={"description": "the payload's key"})
    title = fields.String(metadata={"description": "the field's title as the message declares it, else the key"})
    unit = fields.String(allow_none=True)
    value = fields.Raw()


class DeliveredSchema(Schema):
    message = fields.String()
    title = fields.String(metadata={"description": "the payload schema's title, else the message's name"})
    at = fields.DateTime()
    fields_ = fields.List(fields.Nested(DeliveredValueSchema), data_key="fields", attribute="fields")


class TaskDetailSchema(HumanTaskSchema):
    form_schema = fields.Dict(allow_none=True)
    ui_schema = fields.Dict(allow_none=True)
    delivered = fields.List(fields.Nested(DeliveredSchema), metadata={
        "description": "what the messages that lead to this task delivered, labelled from their declared fields"})

    @pre_dump
    def _with_delivered(self, task, **kwargs):
        return Detail(task, delivered=deliveries.delivered(task))


class TimerSchema(Schema):
    id = fields.String()
    spec = fields.String()
    due_at = fields.DateTime()


class EventSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    kind = fields.String()
    task_id = fields.String(allow_none=True)
    spec = fields.String(allow_none=True)
    data = fields.Dict(allow_none=True)


class InstanceSchema(Schema):
    id = fields.Integer()
    pathway = fields.String()
    version = fields.Integer(attribute="version_number")
    business_key = fields.String(allow_none=True)
    client_id = fields.String(allow_none=True)
    status = fields.String()
    incident = fields.String(allow_none=True)
    started_by = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)


class InstanceStateSchema(InstanceSchema):
    tasks = fields.List(fields.Nested(HumanTaskSchema), metadata={"description": "open human tasks"})
    timers = fields.List(fields.Nested(TimerSchema), metadata={"description": "waiting timers"})
    waiting_for = fields.List(fields.String(), metadata={"description": "messages the instance can take"})


class CompletedSchema(InstanceStateSchema):
    told = fields.List(fields.String(), metadata={
        "description": "what the pathway told the client at once about these answers (what a reading means)"})


class InstanceDetailSchema(InstanceStateSchema):
    history = fields.List(fields.Nested(EventSchema))


class OfferSchema(Schema):
    id = fields.Integer()
    pathway = fields.Function(lambda offer: offer.version.pathway.key)
    version = fields.Function(lambda offer: offer.version.number)
    client_id = fields.String()
    state = fields.String(metadata={"description": "pending, accepted or declined"})
    offered_by = fields.String()
    offered_at = fields.DateTime()
    answered_at = fields.DateTime(allow_none=True)
    instance_id = fields.Integer(allow_none=True, metadata={"description": "the pathway it started, once accepted"})


class ConsentSchema(Schema):
    pathway = fields.String()
    version = fields.Integer()
    page = fields.String(metadata={"description": "the consent page's file in the package"})
    text = fields.String(metadata={"description": "the wording (Markdown) the client reads"})
    text_hash = fields.String(metadata={"description": "SHA-256 of the wording: send it back with the answer"})
    modules = fields.Dict(keys=fields.String(), values=fields.String(),
                          metadata={"description": "optional parts of the pathway: variable → label"})


class ConsentAnswerSchema(Schema):
    answer = fields.String(required=True, validate=validate.OneOf(["given", "declined"]))
    text_hash = fields.String(required=True, validate=validate.Length(equal=64),
                              metadata={"description": "the text_hash of the wording the client read"})


class AnswerResultSchema(Schema):
    answer = fields.String()


class InstanceQuerySchema(Schema):
    pathway = fields.String(validate=validate.Length(max=100))
    status = fields.String(validate=validate.OneOf(["running", "completed", "cancelled", "incident", "suspended"]))
    client_id = fields.String(validate=validate.Length(max=100))
    business_key = fields.String(validate=validate.Length(max=200))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class CancelSchema(Schema):
    reason = fields.String(validate=validate.Length(max=1000), allow_none=True)


class TaskQuerySchema(Schema):
    role = fields.String(validate=validate.Length(max=200))
    assignee = fields.String(validate=validate.Length(max=200))
    pathway = fields.String(validate=validate.Length(max=100))
    audience = fields.String(validate=validate.OneOf(["client", "professional"]))
    instance = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    due_before = fields.AwareDateTime(default_timezone=None)
    overdue = fields.Boolean(metadata={"description": "only tasks past their due time (true), or not (false)"})
    state = fields.String(load_default="open",
                          validate=validate.OneOf(["open", "completed", "missed", "cancelled", "all"]))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1),
                            metadata={"description": "how many of the caller's tasks to skip, in the list's order "
                                                     "(most urgent, then soonest due, then oldest): the next page"})


class CompleteSchema(Schema):
    data = fields.Dict(keys=fields.String(), required=True, metadata={"description": "the form's answers"})


class MessageSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    instance_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    business_key = fields.String(validate=validate.Length(min=1, max=200))
    pathway = fields.String(validate=validate.Length(max=100))
    payload = fields.Dict(keys=fields.String(), load_default=dict, metadata={
        "description": "the message's values; checked against the fields it declares (payloadSchema), if any"})


class NotificationSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    kind = fields.String(metadata={"description": "reminder"})
    audience = fields.String(metadata={"description": "client or professional"})
    recipient = fields.String(allow_none=True, metadata={"description": "the client's id, or the care team's role"})
    task_id = fields.String(allow_none=True, metadata={"description": "the human task it is about"})
    source = fields.String(metadata={"description": "the BPMN element that sent it"})
    text = fields.String()
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)
    read_at = fields.DateTime(allow_none=True)


class NotificationQuerySchema(Schema):
    audience = fields.String(validate=validate.OneOf(["client", "professional"]))
    recipient = fields.String(validate=validate.Length(max=200))
    instance = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    unread = fields.Boolean(metadata={"description": "only those not yet marked read"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ClaimSchema(Schema):
    assignee = fields.String(validate=validate.Length(min=1, max=200),
                             metadata={"description": "whom to assign; the caller when left out"})


class MetricQuerySchema(Schema):
    pathway = fields.String(validate=validate.Length(max=100))
    version = fields.Integer(validate=validate.Range(min=1, max=2147483647))
    quarter = fields.String(validate=validate.Regexp(r"^\d{4}-Q[1-4]$", error="a quarter such as 2027-Q1"))
    start = fields.Date(validate=validate.Range(min=date(2000, 1, 1), max=date(2100, 12, 31)),
                        metadata={"description": "the first day counted (from midnight in the service's zone)"})
    end = fields.Date(validate=validate.Range(min=date(2000, 1, 1), max=date(2100, 12, 31)),
                      metadata={"description": "the first day NOT counted: the period is [start, end), end exclusive"})
    by = fields.String(validate=validate.OneOf(BY), metadata={"description": (
        "cut the period (the quarter, or start–end) into weeks (ISO, Monday first), calendar months or quarters "
        "in the service's zone: one report per pathway per period, in order of pathway, then start. The first "
        "and last period are clipped to the period asked (a week of a quarter that began on a Thursday starts "
        "on that Thursday); a period that begins after today (or after the day as_of) is not returned. At "
        f"most {MOST_PERIODS} periods.")})
    as_of = fields.Date(validate=validate.Range(min=date(2000, 1, 1), max=date(2100, 12, 31)), metadata={
        "description": (
            "figures as known at the end of this day in the service's zone (POLKU_TIME_ZONE), the day included: "
            "only what was recorded before the next midnight there counts (a client who started, a form "
            "answered or missed, a message sent or replied to, a view, a pathway ended, a task done later does "
            "not), so a closed period reads the same whenever it is asked. Not before the period's first day, "
            "not after today. Without it: as known now.")})


class MetricSchema(Schema):
    key = fields.String(metadata={"description": (
        "Which metric. Each counts what began in the period [start, end) (a client started, a form asked, a "
        "message sent, a view), with its outcome (answered, missed, replied, ended) as known at `as_of` "
        "(now, unless the query gives as_of). " + " ".join(f"{key}: {meaning}." for key, meaning in MEANINGS.items())
        + " See the README's Metrics.")})
    unit = fields.Function(lambda m: m.definition.unit, metadata={"description": "count, %, h (hours) or score"})
    value = fields.Function(lambda m: m.value if m.value is None or m.definition.unit != "count" else int(m.value),
                            metadata={"description": "an integer for counts (unit count), else a number; null "
                                                     "when there is nothing to compute it from"})
    basis = fields.Integer(metadata={"description": "how many rows the value is computed from"})
    target = fields.Float(allow_none=True)
    attainment_percent = fields.Function(
        lambda m: None if m.attainment is None or m.attainment == float("inf") else round(m.attainment, 1))
    light = fields.String(allow_none=True, metadata={"description": "green, yellow or red; null without a target"})


class MetricOutcomeSchema(Schema):
    scale = fields.String(metadata={"description": "the PROM scale (the form field marked as one)"})
    clients = fields.Integer(metadata={"description": "clients who answered the scale at least twice in the period"})
    first_mean = fields.Float(metadata={"description": "the mean of their first answers in the period"})
    last_mean = fields.Float(metadata={"description": "the mean of their last answers in the period"})
    change = fields.Float(metadata={"description": "last_mean − first_mean"})


class MetricReportSchema(Schema):
    pathway = fields.String()
    version = fields.Integer(metadata={"description": "when one version was asked for"})
    start = fields.AwareDateTime(metadata={"description": "the period's first moment (with by: the week's, month's or "
                                                          "quarter's, or the asked period's start if later)"})
    end = fields.AwareDateTime(metadata={"description": "the first moment not counted (with by: the period's end, or "
                                                        "the asked period's end if earlier)"})
    as_of = fields.AwareDateTime(metadata={"description": (
        "the moment the figures are as known at: what was recorded before it counts (with as_of, midnight at "
        "the end of that day in the service's zone; else the moment of the answer)")})
    metrics = fields.List(fields.Nested(MetricSchema))
    proms = fields.List(fields.Nested(MetricOutcomeSchema), metadata={"description": (
        "PROM outcomes: for each scale, the mean first and last answer, in the period, of the clients who "
        "answered it at least twice then (as known at as_of)")})
