"""The signed-in client's own data as a FHIR R4 Bundle, as *Omat polut* downloads it (care/fhir_export.py)."""

from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from ..auth import access, guard
from ..care import fhir_export
from . import log_shown

blp = Blueprint("own-data", __name__, description="The signed-in client's own data")


class BundleSchema(Schema):
    resource_type = fields.String(attribute="resourceType", data_key="resourceType", metadata={"description": "Bundle"})
    type = fields.String(metadata={"description": "collection"})
    timestamp = fields.String(metadata={"description": "when it was put together"})
    entry = fields.List(fields.Dict(), metadata={
        "description": "a CarePlan for each pathway, a QuestionnaireResponse for each set of answers, an Observation "
                       "(LOINC) for each measurement, a Communication for each message"})


@blp.route("/me/export")
@blp.response(200, BundleSchema)
@blp.alt_response(403, description="the caller is not a signed-in client")
def own_data():
    """All the signed-in client's pathways' data as a FHIR R4 Bundle (the client is `Patient/<client id>`). Only the
    client downloads her own data; each download is a disclosure and an access-log row."""
    if guard.user().role != "client":
        abort(403, message="only a signed-in client downloads her own data")
    me = guard.user().person.client_id
    log_shown({me: me}, "export")
    access.disclose("fhir-bundle", me)
    return fhir_export.bundle(me)
