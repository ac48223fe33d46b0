"""A client's own data to read and print: each pathway with the client's answers (the questions and the options
chosen as the forms word them), measurements and messages. The same data as the FHIR bundle, for people."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from ..care import messaging
from ..core import queries
from ..core.answers import form_of
from ..extensions import db
from ..models import HumanTask, Instance, Message, Observation
from .answers import in_words


@dataclass
class Sent:
    title: str
    at: datetime
    answers: list[tuple[str, str, bool]]  # (question, answer in words, whether in the pathway's words)


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
            found.append(Sent(tasks[event.task_id].title, event.at, worded(tasks[event.task_id], answers)))
    return found


def worded(task: HumanTask, answers: dict) -> list[tuple[str, str, bool]]:
    """Each answer in words (``answers.in_words``) under its question, and whether it is in the pathway's words
    (an option's title) rather than the reader's language (yes, no) or the client's own."""
    return [(answer.question, answer.text, bool(answer.chosen) and not isinstance(answers.get(answer.name), bool))
            for answer in in_words(form_of(task), answers)]


def measurements(instance_id: int) -> list[Observation]:
    return list(db.session.scalars(select(Observation).where(Observation.instance_id == instance_id)
                                   .order_by(Observation.measured_at, Observation.id)))
