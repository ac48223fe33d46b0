"""A diary task's entries, as the client's diary page has them (care/diaries.py): listed by day, added one at a
time against the diary's form, corrected by whoever wrote them while the diary is open, and the diary marked done.

An entry is named by its number in the diary (1 for the first written): entries are never removed, so a number
stays the entry's.
"""

from flask import current_app
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from ..auth import guard
from ..care import content, diaries
from ..core import notify, queries, steps
from ..core.answers import InvalidAnswers, field_errors, form_of
from ..core.refusal import Refused
from ..models import DiaryEntry
from . import log_shown
from .schemas import CompletedSchema, HumanTaskSchema
from .views import Detail
from .views import instance_state as state

blp = Blueprint("diaries", __name__, description="Food and exercise diaries: entries added, corrected and the diary "
                                                 "marked done")
TASK = "/diaries/<task_id>"
NUMBER = "<int(min=1, max=2147483647):number>"


class DiaryEntrySchema(Schema):
    number = fields.Integer(metadata={"description": "the entry's number in the diary, 1 for the first written"})
    id = fields.Integer()
    day = fields.Date(metadata={"description": "the day it belongs to, in the service's zone"})
    at = fields.DateTime(metadata={"description": "when it was written (a correction keeps it)"})
    data = fields.Dict(metadata={"description": "the entry's answers, as the diary's form asks them"})
    recorded_by = fields.String()


class DiarySchema(HumanTaskSchema):
    diary = fields.String(metadata={"description": "food or exercise"})
    form_schema = fields.Dict(allow_none=True, metadata={"description": "the form of one entry (JSON Schema)"})
    ui_schema = fields.Dict(allow_none=True)
    entries = fields.List(fields.Nested(DiaryEntrySchema), metadata={"description": "oldest first"})


class EntryPayloadSchema(Schema):
    data = fields.Dict(keys=fields.String(), required=True, metadata={
        "description": "the entry's answers, checked against the diary's form"})


def _diary(task) -> str:
    """The diary a task keeps (food, exercise); 404 for a task that is no diary."""
    kind = content.meta_of(task).get("diary")
    if not kind:
        abort(404, message=f"task {task.id} is not a diary")
    return kind


def _readable(task_id: str):
    """A diary task the caller may read: the client's own, a client's on a pathway the professional's team follows
    (the team sees the entries, as on its pages), any for a system."""
    if guard.user().role != "professional":
        return guard.task_for(task_id)
    task = queries.task_row(task_id) if len(task_id) <= 36 else None
    if task is None or task.audience != "client":
        abort(404)
    guard.instance_for(task.instance_id)  # 404 unless one of the caller's teams follows the pathway
    return task


def _writable(task_id: str):
    """A diary task of the signed-in client's own, to write in (the team that reads it is told it may not: 403)."""
    task = _readable(task_id)
    guard.require("client")
    return task


def _numbered(task) -> list[tuple[int, DiaryEntry]]:
    """The diary's entries with their numbers, in the order written."""
    return list(enumerate(sorted(diaries.entries(task.instance_id, task.id), key=lambda e: e.id), start=1))


def _shown(number: int, entry: DiaryEntry) -> Detail:
    zone = current_app.config["POLKU_TIME_ZONE"]
    ((day, _),) = diaries.by_day([entry], zone)
    return Detail(entry, number=number, day=day)


def _checked(task, data: dict) -> dict:
    """The answers of one entry, checked against the diary's form as a task's answers are; 422 naming each field."""
    errors = field_errors(form_of(task)["form_schema"], data)
    if errors:
        raise InvalidAnswers(errors)
    return data


@blp.route(TASK)
@blp.response(200, DiarySchema)
@blp.alt_response(404, description="no such diary, or not one the caller may see")
def diary(task_id):
    """The diary task with its form and its entries, each with its number and day (the client, the care teams
    that follow the pathway, systems)."""
    task = _readable(task_id)
    kind = _diary(task)
    entries = [_shown(number, entry) for number, entry in _numbered(task)]
    log_shown({task.instance_id: task.id}, "diary", by_instance=True)
    return Detail(task, diary=kind, entries=entries, **form_of(task))


@blp.route(f"{TASK}/entries", methods=["POST"])
@blp.arguments(EntryPayloadSchema)
@blp.response(201, DiaryEntrySchema)
@blp.alt_response(404, description="no such diary, or not the client's own")
@blp.alt_response(409, description="the diary has ended")
@blp.alt_response(422, description="the entry does not fit the diary's form; `errors` names each field")
def add(args, task_id):
    """Add an entry to an open diary (the client)."""
    task = _writable(task_id)
    kind = _diary(task)
    if task.state != "open":
        raise Refused(409, "this diary has ended, so the entry was not saved")
    entry = diaries.add(task, kind, _checked(task, args["data"]), guard.actor())
    number = next(n for n, e in _numbered(task) if e.id == entry.id)
    log_shown({task.instance_id: task.id}, "diary", by_instance=True)
    return _shown(number, entry)


@blp.route(f"{TASK}/entries/{NUMBER}", methods=["PUT"])
@blp.arguments(EntryPayloadSchema)
@blp.response(200, DiaryEntrySchema)
@blp.alt_response(404, description="no such entry, or not one the caller wrote")
@blp.alt_response(409, description="the diary has ended")
@blp.alt_response(422, description="the entry does not fit the diary's form; `errors` names each field")
def correct(args, task_id, number):
    """Correct an entry the caller wrote while the diary is open; it keeps its time, and the pathway's history
    keeps what it said before."""
    task = _writable(task_id)
    _diary(task)
    found = dict(_numbered(task)).get(number)
    entry = found and diaries.written_by(task, found.id, guard.actor())
    if not entry:
        abort(404, message=f"the diary has no entry {number} of the caller's")
    if task.state != "open":
        raise Refused(409, "this diary has ended, so its entries can no longer be corrected")
    diaries.correct(entry, _checked(task, args["data"]), guard.actor())
    log_shown({task.instance_id: task.id}, "diary", by_instance=True)
    return _shown(number, entry)


@blp.route(f"{TASK}/close", methods=["POST"])
@blp.response(200, CompletedSchema)
@blp.alt_response(404, description="no such diary, or not the client's own")
@blp.alt_response(409, description="the diary has ended already")
def close(task_id):
    """Mark the diary done (the client): the pathway goes on as when its page's *The diary is done* is pressed. It
    takes no answers; its entries were added one by one."""
    task = _writable(task_id)
    _diary(task)
    guard.may_act_on(task)
    done = steps.complete(task.id, {}, guard.actor())
    log_shown({done.client_id: task.id}, "diary")
    return state(done, told=notify.told(queries.task_row(task.id)))
