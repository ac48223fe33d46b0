"""A task's form on a page: drafts, checking the answers, sending them once."""

import uuid

from flask import current_app, request

from ..auth import guard
from ..clock import now
from ..core import steps
from ..core.answers import InvalidAnswers, form_of
from ..core.database import upsert, write
from ..extensions import db
from ..models import HumanTask, TaskDraft
from . import schema_form


class Form:
    """The form of ``task`` as the signed-in user sees it."""

    def __init__(self, task: HumanTask):
        self.task = task
        found = form_of(task)
        self.schema, self.ui = found["form_schema"] or {"type": "object", "properties": {}}, found["ui_schema"]
        self.errors: dict[str, list[str]] = {}
        self.values: dict | None = None
        self.saved = False

    def draft(self) -> TaskDraft | None:
        return db.session.get(TaskDraft, (self.task.id, guard.user().person.id))

    def fields(self):
        values = self.values if self.values is not None else getattr(self.draft(), "data", None)
        return schema_form.build(self.schema, self.ui, values, self.errors)

    def key(self) -> str:
        """A fresh key per page: sending twice (a double click, a reload) completes once."""
        return uuid.uuid4().hex

    def post(self) -> bool:
        """Handle the page's post: save a draft, or send the answers. True once they were sent."""
        if request.form.get("action") == "draft":
            self.save_draft()
            return False
        return self.send()

    @property
    def status(self) -> int:
        return 422 if self.errors else 200

    def save_draft(self) -> None:
        answers, _ = schema_form.parse(self.schema, request.form)
        with write():  # one draft per task and person, a double click too
            upsert(TaskDraft, [{"task_id": self.task.id, "person_id": guard.user().person.id, "data": answers,
                                "saved_at": now()}], ["task_id", "person_id"], ["data", "saved_at"])
        self.values, self.saved = answers, True

    def send(self) -> bool:
        """Check and send the answers; False (with ``errors`` set) when they need fixing."""
        answers, errors = schema_form.read(self.schema, request.form)
        if errors:
            self.values, self.errors = answers, errors
            self._keep_raw()
            return False
        key = request.form.get("key", "")
        guard.may_act_on(self.task)
        try:
            steps.complete(self.task.id, answers, guard.actor(), key if 1 <= len(key) <= 200 else None)
        except InvalidAnswers as exc:  # the engine's own check: same messages, beside each field
            self.values, self.errors = answers, schema_form.messages(exc.errors)
            return False
        with write():
            draft = self.draft()
            if draft is not None:
                db.session.delete(draft)
        current_app.logger.info("task %s completed from its page", self.task.id)
        return True

    def _keep_raw(self) -> None:
        """What the person typed stays in the fields, also when it could not be read as the right type."""
        self.values = {**(self.values or {}), **{"__raw__": request.form}}
