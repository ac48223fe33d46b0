"""A client's own data to read and print: each pathway with the client's answers (the questions and the options
chosen as the forms word them), measurements and messages. The same data as the FHIR bundle, for people."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from ..care import messaging
from ..care.answer_words import Answer, in_words
from ..core import queries
from ..core.answers import form_of
from ..extensions import db
from ..models import Instance, Message, Observation


@dataclass
class Sent:
    title: str
    at: datetime
    answers: list[Answer]  # each question with its answer in words


@dataclass
class Record:
    instance: Instance
    answered: list[Sent] = field(default_factory=list)
    measurements: list[Observation] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)


def of(client_id: str) -> list[Record]:
    """Every pathway of the client, newest first as on *Omat polut*."""
    return [Record(instance, answered(instance), measurements(instance.id), messaging.thread(instance.id))
            for instance in queries.client_instances(client_id)]


def answered(instance: Instance) -> list[Sent]:
    """The client's sent answers, oldest first, each under its task's title."""
    tasks = {t.id: t for t in queries.instance_human_tasks(instance.id) if t.audience == "client"}
    found = []
    for event in queries.answers(instance.id):
        answers = (event.data or {}).get("answers") or {}
        if event.task_id in tasks and answers:
            found.append(Sent(tasks[event.task_id].title, event.at, in_words(form_of(tasks[event.task_id]), answers)))
    return found


def measurements(instance_id: int) -> list[Observation]:
    return list(db.session.scalars(select(Observation).where(Observation.instance_id == instance_id)
                                   .order_by(Observation.measured_at, Observation.id)))
