"""A client's own data as a FHIR R4 Bundle: a CarePlan for each pathway, a QuestionnaireResponse for each
set of answers (questions and chosen options in the words the pages show), an Observation (LOINC) for each
measurement, a Communication for each message.

The client is ``Patient/<client id>``: the opaque id Polku names them by, never the identity code.
"""

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from ..clock import now
from ..core import queries
from ..core.answers import form_of
from ..engine.measurements import KINDS
from ..extensions import db
from ..models import Event, HumanTask, Instance, Message, Observation
from .answer_words import Answer, in_words  # the display texts the pages show
from .loinc import LOINC, UCUM  # the codes, read back from FHIR through the same table

STATUS = {"running": "active", "incident": "on-hold", "suspended": "on-hold", "completed": "completed",
          "cancelled": "revoked"}


def _time(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def bundle(client_id: str) -> dict:
    """Everything Polku holds of the client's pathways, as one collection Bundle."""
    patient = {"reference": f"Patient/{client_id}"}
    entries = []
    for instance in queries.client_instances(client_id):
        plan = f"CarePlan/polku-{instance.id}"
        entries.append(_care_plan(instance, patient))
        entries += [_response(task, event, patient, plan) for task, event in _answered(instance.id)]
        entries += [_observation(row, patient, plan) for row in db.session.scalars(
            select(Observation).where(Observation.instance_id == instance.id).order_by(Observation.measured_at))]
        entries += [_communication(m, patient, plan) for m in db.session.scalars(
            select(Message).where(Message.instance_id == instance.id).order_by(Message.sent_at))]
    return {"resourceType": "Bundle", "type": "collection", "timestamp": _time(now()),
            "entry": [{"fullUrl": f"urn:polku:{r['resourceType']}:{r['id']}", "resource": r} for r in entries]}


def _care_plan(instance: Instance, patient: dict) -> dict:
    return {"resourceType": "CarePlan", "id": f"polku-{instance.id}", "status": STATUS.get(instance.status, "unknown"),
            "intent": "plan", "title": instance.version.name, "subject": patient,
            "instantiatesUri": [f"urn:polku:pathway:{instance.pathway}:{instance.version_number}"],
            "period": {k: v for k, v in (("start", _time(instance.created_at)), ("end", _time(instance.ended_at)))
                       if v}}


def _answered(instance_id: int) -> list[tuple[HumanTask, Event]]:
    found = {t.id: t for t in queries.instance_human_tasks(instance_id) if t.audience == "client"}
    events = db.session.scalars(select(Event).where(Event.instance_id == instance_id, Event.kind == "task_completed")
                                .order_by(Event.id))
    return [(found[e.task_id], e) for e in events if e.task_id in found and (e.data or {}).get("answers")]


def _response(task: HumanTask, event: Event, patient: dict, plan: str) -> dict:
    sent = event.data["answers"]
    items = [_item(answer, sent[answer.name]) for answer in in_words(form_of(task), sent)]
    return {"resourceType": "QuestionnaireResponse", "id": f"polku-{task.id}", "status": "completed",
            "questionnaire": f"urn:polku:form:{task.pathway_key}:{task.form}", "subject": patient,
            "basedOn": [{"reference": plan}], "authored": _time(event.at), "item": items}


def _item(answer: Answer, value) -> dict:
    """One question as the form asks it; a choice coded by the option's stored value, shown by its title."""
    values = value if isinstance(value, list) else [value]
    if answer.chosen and not isinstance(value, bool):
        given = [{"valueCoding": {"code": code, "display": title}} for code, title in answer.chosen]
    elif any(isinstance(v, dict) for v in values):  # rows of answers, in words
        given = [{"valueString": answer.text}]
    else:
        given = [_answer(v) for v in values if v is not None]
    return {"linkId": answer.name, "text": answer.question, "answer": given}


def _answer(value) -> dict:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    if isinstance(value, float):
        return {"valueDecimal": value}
    return {"valueString": value if isinstance(value, str) else str(value)}


def _observation(row: Observation, patient: dict, plan: str) -> dict:
    kind = KINDS[row.kind]
    return {"resourceType": "Observation", "id": f"polku-obs-{row.id}", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "vital-signs"}]}],
            "code": {"coding": [{"system": LOINC, "code": row.code, "display": kind.label}], "text": kind.label},
            "subject": patient, "basedOn": [{"reference": plan}], "effectiveDateTime": _time(row.measured_at),
            "issued": _time(row.recorded_at),
            "valueQuantity": {"value": row.value, "unit": row.unit, "system": UCUM, "code": row.unit}}


def _communication(message: Message, patient: dict, plan: str) -> dict:
    team = {"display": message.team or _("care team")}
    mine = message.sender == "client"
    return {"resourceType": "Communication", "id": f"polku-msg-{message.id}", "status": "completed",
            "subject": patient, "basedOn": [{"reference": plan}], "sent": _time(message.sent_at),
            "sender": patient if mine else {"display": message.author_name}, "recipient": [team if mine else patient],
            "payload": [{"contentString": message.body}]}
