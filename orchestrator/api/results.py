"""A pathway's results: the process variables its package declares as results (process property ``results``), with
their current values, and nothing else of the instance's data (care/results.py)."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..auth import guard
from ..care import results
from . import log_shown
from .views import Detail

blp = Blueprint("results", __name__, description="What a pathway declares as its results, e.g. a risk test's score")


class ResultSchema(Schema):
    name = fields.String(metadata={"description": "the process variable"})
    label = fields.String(metadata={"description": "its label as the package declares it (else its name)"})
    value = fields.Raw(allow_none=True, metadata={"description": "its current value; null until the pathway sets it"})
    set = fields.Boolean(metadata={"description": "whether the pathway has set it yet"})


class ResultsSchema(Schema):
    instance_id = fields.Integer(attribute="id")
    pathway = fields.String()
    version = fields.Integer(attribute="version_number")
    status = fields.String()
    results = fields.List(fields.Nested(ResultSchema), metadata={
        "description": "the declared results in the package's order; empty when it declares none"})


@blp.route("/instances/<int(min=1, max=2147483647):instance_id>/results")
@blp.response(200, ResultsSchema)
@blp.alt_response(404, description="no such instance, or not one the caller may see")
def instance_results(instance_id):
    """The pathway's declared results with their current values, for the client and the care teams that follow the
    pathway (and systems): only the variables its package names in `results`, never the rest of its data."""
    instance = guard.instance_for(instance_id)
    found = results.of(instance)
    log_shown({instance.client_id: instance.id}, "results")
    return Detail(instance, results=found)
