"""Task services: forms, claims and completion (through the step transaction)."""

from . import steps
from .database import locked
from .extensions import db
from .forms import field_errors
from .models import HumanTask
from .queries import completion_by_key, instance_or_404
from .steps import StepRefused


class InvalidAnswers(Exception):
    def __init__(self, errors: list[dict]):
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


def form_of(task: HumanTask) -> dict:
    forms = task.instance.version.forms
    meta = task.instance.version.task_meta.get(task.spec, {})
    return {"form_schema": forms.get(task.form) if task.form else None,
            "ui_schema": forms.get(meta.get("ui_form")) if meta.get("ui_form") else None}


def complete(task: HumanTask, data: dict, actor: str, idempotency_key: str | None):
    if idempotency_key:
        done = completion_by_key(idempotency_key)
        if done is not None:
            if done.task_id != task.id:
                raise StepRefused(409, "this Idempotency-Key was already used for another task")
            return instance_or_404(done.instance_id)
    if task.state != "open":
        raise StepRefused(409, f"task {task.id} is {task.state}")
    errors = field_errors(form_of(task)["form_schema"], data)
    if errors:
        raise InvalidAnswers(errors)
    try:
        return steps.complete(task.instance_id, task.id, task.spec, data, actor, idempotency_key)
    except StepRefused:
        if idempotency_key and (done := completion_by_key(idempotency_key)) is not None:
            return instance_or_404(done.instance_id)  # a concurrent retry of the same completion won
        raise


def claim(task: HumanTask, assignee: str) -> HumanTask:
    task = locked(HumanTask, task.id)
    if task.state != "open":
        raise StepRefused(409, f"task {task.id} is {task.state}")
    if task.assignee not in (None, assignee):
        raise StepRefused(409, f"task {task.id} is assigned to {task.assignee}")
    task.assignee = assignee
    db.session.commit()
    return task


def release(task: HumanTask) -> HumanTask:
    task = locked(HumanTask, task.id)
    if task.state != "open":
        raise StepRefused(409, f"task {task.id} is {task.state}")
    task.assignee = None
    db.session.commit()
    return task
