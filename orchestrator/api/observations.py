"""A client's measurements on a pathway: listed, and added as the pathway page adds them (care/observations.py), in
Polku's own JSON or as a FHIR R4 ``Observation`` (a home meter's app), read through the one LOINC table
(care/loinc.py).

A reading is checked as the page checks it (the plausible range, whole numbers where the kind has none, both readings
of a blood pressure and the systolic above the diastolic) and refused naming the field; one the pathway hears of
(``measurement_recorded``) is judged in the same step as one entered on the page, so that an alarming one reaches the
care team exactly as from there.
"""

from datetime import UTC, datetime, timedelta

from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from ..auth import guard
from ..care import loinc, observations
from ..clock import now
from ..core import notify
from ..core.answers import field_errors
from ..core.records import observation_row
from ..core.refusal import Refused
from ..engine.measurements import KINDS
from ..models import Instance
from . import log_shown

blp = Blueprint("observations", __name__, description="A client's measurements on a pathway, also as FHIR R4 "
                                                      "Observations with LOINC codes")
ID = "<int(min=1, max=2147483647):instance_id>"
SKEW = timedelta(minutes=5)  # a device's clock may run this much ahead of the service's


def _label(row) -> str:
    return KINDS[row["kind"] if isinstance(row, dict) else row.kind].label


class ObservationSchema(Schema):
    id = fields.Integer(allow_none=True, metadata={"description": "its row (left out of what a post answers)"})
    kind = fields.String(metadata={"description": ", ".join(KINDS)})
    label = fields.Function(_label, metadata={"description": "the kind's name in the caller's language"})
    code = fields.String(metadata={"description": "its LOINC code"})
    panel = fields.String(allow_none=True, metadata={"description": "the LOINC panel it is part of (blood pressure)"})
    value = fields.Float()
    unit = fields.String(metadata={"description": "its UCUM unit"})
    measured_at = fields.DateTime()
    recorded_at = fields.DateTime()
    task_id = fields.String(allow_none=True, metadata={"description": "the task it was sent with; null: entered "
                                                                      "freely"})
    recorded_by = fields.String()


class ObservationListSchema(Schema):
    instance_id = fields.Integer(attribute="id")
    measurements = fields.Function(lambda i: (i.version.settings or {}).get("measurements") or [], metadata={
        "description": "the kinds the client may also record freely on this pathway"})
    targets = fields.Function(lambda i: (i.version.settings or {}).get("targets") or {}, metadata={
        "description": "the pathway's target range of a kind, [low, high], as its charts draw it"})
    observations = fields.Function(lambda i: ObservationSchema(many=True).dump(observations.of(i.id)), metadata={
        "description": "every measurement on the pathway, oldest first"})


class RecordedSchema(Schema):
    observations = fields.List(fields.Nested(ObservationSchema), metadata={"description": "what was recorded"})
    told = fields.List(fields.String(), metadata={
        "description": "what the pathway told the client at once about the reading (what it means)"})


def _measurement(key: str, kind) -> fields.Float:
    return fields.Float(allow_nan=False, metadata={"description": (
        f"{kind.name}, {kind.unit} (LOINC {kind.code}): between {kind.low:g} and {kind.high:g}"
        + (", a whole number" if kind.decimals == 0 else "")
        + (f"; with {kind.pair}" if kind.pair else ""))})


NewMeasurementSchema = Schema.from_dict({
    **{key: _measurement(key, kind) for key, kind in KINDS.items()},
    "measured_at": fields.AwareDateTime(metadata={
        "description": "when it was measured, with its zone; now when left out. Not in the future, not before the "
                       "pathway started"}),
}, name="NewMeasurement")


class _Fhir(Schema):
    class Meta:
        unknown = EXCLUDE  # a FHIR resource carries much Polku does not read (meta, category, device…)


class CodingSchema(_Fhir):
    system = fields.String(validate=validate.Length(max=500))
    code = fields.String(validate=validate.Length(max=100))
    display = fields.String(validate=validate.Length(max=1000))


class CodeableConceptSchema(_Fhir):
    coding = fields.List(fields.Nested(CodingSchema), validate=validate.Length(max=50), metadata={
        "description": f"a coding with system {loinc.LOINC} and a code Polku knows: {loinc.known_codes()}"})
    text = fields.String(validate=validate.Length(max=1000))


class QuantitySchema(_Fhir):
    value = fields.Float(allow_nan=False, required=True)
    unit = fields.String(validate=validate.Length(max=100))
    system = fields.String(validate=validate.Length(max=500))
    code = fields.String(validate=validate.Length(max=100), metadata={
        "description": "the UCUM unit: " + "; ".join(f"{key} {loinc.units_of(key)}" for key in KINDS)})


class ComponentSchema(_Fhir):
    code = fields.Nested(CodeableConceptSchema, required=True)
    value_quantity = fields.Nested(QuantitySchema, data_key="valueQuantity")


class ReferenceSchema(_Fhir):
    reference = fields.String(validate=validate.Length(max=500))


class FhirObservationSchema(_Fhir):
    resource_type = fields.String(required=True, data_key="resourceType", validate=validate.OneOf(["Observation"]))
    status = fields.String(required=True, validate=validate.OneOf(["final", "amended", "corrected"]))
    code = fields.Nested(CodeableConceptSchema, required=True)
    subject = fields.Nested(ReferenceSchema, metadata={"description": "Patient/<client id>, if given"})
    effective_date_time = fields.AwareDateTime(required=True, data_key="effectiveDateTime", metadata={
        "description": "when it was measured, a date and time with its zone"})
    value_quantity = fields.Nested(QuantitySchema, data_key="valueQuantity", metadata={
        "description": "the value of a single measurement (a blood pressure has its components instead)"})
    component = fields.List(fields.Nested(ComponentSchema), validate=validate.Length(max=10), metadata={
        "description": "a panel's values: blood pressure 85354-9 has systolic 8480-6 and diastolic 8462-4"})


@blp.route(f"/instances/{ID}/observations")
@blp.response(200, ObservationListSchema)
@blp.alt_response(404, description="no such instance, or not one the caller may see")
def list_observations(instance_id):
    """The measurements on the pathway, oldest first, with the kinds the client may record and the target ranges
    (the client, the care teams that follow the pathway, systems)."""
    instance = guard.instance_for(instance_id)
    log_shown({instance.client_id: instance.id}, "observations")
    return instance


@blp.route(f"/instances/{ID}/observations", methods=["POST"])
@blp.arguments(NewMeasurementSchema)
@blp.response(201, RecordedSchema)
@blp.alt_response(404, description="no such instance, or not one the caller may see")
@blp.alt_response(409, description="the pathway has ended, or takes no measurements entered freely")
@blp.alt_response(422, description="a reading that cannot be right, or that the pathway does not take: `errors` "
                                   "names each field")
def add(args, instance_id):
    """Record measurements as the client enters them on the pathway page: any of the kinds the pathway takes
    (its `measurements`), a blood pressure with both readings (the client herself, or a system such as her
    meter's app)."""
    instance = _recording_on(instance_id)
    measured_at = args.pop("measured_at", None)
    values = {key: value for key, value in args.items() if value is not None}
    return _record(instance, values, measured_at, {key: f"/{key}" for key in KINDS}, "/measured_at")


@blp.route(f"/instances/{ID}/observations/fhir", methods=["POST"])
@blp.arguments(FhirObservationSchema)
@blp.response(201, RecordedSchema)
@blp.alt_response(404, description="no such instance, or not one the caller may see")
@blp.alt_response(409, description="the pathway has ended, or takes no measurements entered freely")
@blp.alt_response(422, description="an unknown LOINC code or unit, or a reading that cannot be right: `errors` "
                                   "names each field")
def add_fhir(args, instance_id):
    """Record a FHIR R4 `Observation` (`application/json` or `application/fhir+json`): status final, a LOINC code
    Polku knows in `code.coding` (body weight 29463-7; waist circumference 8280-0 or 56086-2; blood glucose
    41653-7, 2339-0 or 15074-8; the blood-pressure panel 85354-9 with components systolic 8480-6 and diastolic
    8462-4), `valueQuantity` with a UCUM unit, and `effectiveDateTime`. It becomes the same measurement as one
    entered on the pathway page, checked the same way."""
    instance = _recording_on(instance_id)
    subject = (args.get("subject") or {}).get("reference")
    if subject and subject.startswith("Patient/") and subject != f"Patient/{instance.client_id}":
        raise Refused(422, "the observation is of another patient than the pathway's client",
                      [{"field": "/subject/reference", "message": "not this pathway's client"}])
    values, where, named = _from_fhir(args)
    return _record(instance, values, args["effective_date_time"], where, "/effectiveDateTime", named)


def _recording_on(instance_id: int) -> Instance:
    """The instance, for a caller who records on it: its client, or a system (a professional does not)."""
    instance = guard.instance_for(instance_id)
    guard.require("client")
    return instance


def _record(instance: Instance, values: dict, measured_at: datetime | None, where: dict[str, str], when: str,
            named: dict[str, str] | None = None):
    """Check the values as the page checks them and record them through the same service. ``where`` names each
    kind's value in the request, ``named`` what named the kind (its code; else its value), ``when`` the time's."""
    allowed = (instance.version.settings or {}).get("measurements") or []
    if not instance.active or not allowed:
        raise Refused(409, "measurements can be added only to an active pathway that asks for them")
    at = now()
    measured_at = (measured_at or at).astimezone(UTC)
    errors = _errors(values, allowed, where, named or where) + _time_errors(instance, measured_at, at, when)
    if errors:
        raise Refused(422, "the measurements cannot be recorded as they are", errors)
    written = observations.record(instance, values, measured_at, guard.actor(), at)
    log_shown({instance.client_id: instance.id}, "observations")
    rows = [observation_row(KINDS[key], value, instance.id, instance.client_id, None, guard.actor(), measured_at, at)
            for key, value in values.items()]
    return {"observations": rows, "told": notify.told_at(instance.id, instance.version_id, written)}


def _errors(values: dict, allowed: list[str], where: dict[str, str], named: dict[str, str]) -> list[dict]:
    """What is wrong with the values, each problem at its field in the request."""
    if not values:
        return [{"field": where[allowed[0]], "message": f"write at least one measurement ({', '.join(allowed)})"}]
    refused = [{"field": named[key], "message": f"this pathway does not take {key} readings (it takes "
                                               f"{', '.join(allowed)})"} for key in values if key not in allowed]
    if refused:
        return refused
    found = field_errors(observations.free_form(allowed), values)
    return [{**e, "field": where.get(e["field"].lstrip("/"), e["field"])} for e in found]


def _time_errors(instance: Instance, measured_at: datetime, at: datetime, field: str) -> list[dict]:
    if measured_at > at + SKEW:
        return [{"field": field, "message": "the time of the reading is in the future"}]
    if measured_at < instance.created_at:
        return [{"field": field, "message": "the reading was taken before the pathway started"}]
    return []


# --------------------------------------------------------------------------- a FHIR Observation, read to values


def _from_fhir(resource: dict) -> tuple[dict[str, float], dict[str, str], dict[str, str]]:
    """The values of a FHIR Observation by kind, where each value stands (a JSON pointer; a reading a panel lacks:
    its components) and where its code does; refused naming a code or unit Polku does not know."""
    code, at = _loinc(resource["code"], "/code")
    panel = loinc.panel_of(code)
    if panel is None:
        key = loinc.kind_of(code)
        if key is None:
            raise _unknown_code(code, at)
        return {key: _value(key, resource.get("value_quantity"), "/valueQuantity")}, \
            {key: "/valueQuantity/value"}, {key: at}
    values, where, named = {}, dict.fromkeys(panel, "/component"), dict.fromkeys(panel, at)
    for i, component in enumerate(resource.get("component") or []):
        part, part_at = _loinc(component["code"], f"/component/{i}/code")
        key = loinc.kind_of(part)
        if key not in panel:
            raise _unknown_code(part, part_at, f"a component of {code} ({' and '.join(panel)})")
        values[key] = _value(key, component.get("value_quantity"), f"/component/{i}/valueQuantity")
        where[key], named[key] = f"/component/{i}/valueQuantity/value", part_at
    return values, where, named


def _loinc(concept: dict, at: str) -> tuple[str, str]:
    """The LOINC code of a concept, and where it stands: its first LOINC coding Polku knows, else its first."""
    found = [(coding["code"], f"{at}/coding/{i}/code") for i, coding in enumerate(concept.get("coding") or [])
             if coding.get("system") == loinc.LOINC and coding.get("code")]
    if not found:
        raise Refused(422, "the observation has no LOINC code", [
            {"field": f"{at}/coding", "message": f"no coding with system {loinc.LOINC} and a code"}])
    return next((f for f in found if loinc.kind_of(f[0]) or loinc.panel_of(f[0])), found[0])


def _unknown_code(code: str, at: str, expected: str | None = None) -> Refused:
    return Refused(422, "LOINC code %(code)s is not one Polku knows", [
        {"field": at, "message": f"LOINC code '{code}' is not {expected or 'one Polku knows'} "
                                 f"(it knows {loinc.known_codes()})"}], code=code)


def _value(key: str, quantity: dict | None, at: str) -> float:
    """The quantity in the kind's own unit (UCUM ``code``, else ``unit``); refused naming a unit it cannot be."""
    if quantity is None:
        raise Refused(422, "the observation has no value", [{"field": at, "message": "valueQuantity is required"}])
    unit = quantity.get("code") or quantity.get("unit")
    unit_at = f"{at}/code" if quantity.get("code") else f"{at}/unit"
    if not unit:
        raise Refused(422, "the observation has no unit", [
            {"field": f"{at}/code", "message": f"give the UCUM unit ({loinc.units_of(key)})"}])
    value = loinc.in_own_unit(key, quantity["value"], unit)
    if value is None:
        raise Refused(422, "unit %(unit)s is not one Polku takes for %(kind)s", [
            {"field": unit_at, "message": f"unit '{unit}' is not one Polku takes for {key} "
                                          f"(it takes {loinc.units_of(key)})"}], unit=unit, kind=key)
    return value
