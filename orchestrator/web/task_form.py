"""A task's form on a page: drafts, checking the answers, sending them once."""

import uuid

from flask import current_app, request

from ..auth import guard
from ..care import content
from ..clock import now
from ..core import notify, queries, steps
from ..core.answers import InvalidAnswers, form_of
from ..core.database import upsert, write
from ..extensions import db
from ..models import HumanTask, PathwayVersion, TaskDraft
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

    @property
    def version(self) -> PathwayVersion:
        """The pathway version that asks: its package says the language its questions are in."""
        return db.session.get(PathwayVersion, self.task.version_id)

    def draft(self) -> TaskDraft | None:
        return db.session.get(TaskDraft, (self.task.id, guard.user().person.id))

    def fields(self):
        values = self.values if self.values is not None else getattr(self.draft(), "data", None)
        return schema_form.build(self.schema, self.ui, values, self.errors)

    @property
    def asks_nothing(self) -> bool:
        """A step without questions (a manual task, a form with no fields): read, then marked done."""
        return not self.schema.get("properties")

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

    def opened(self) -> list[HumanTask]:
        """The tasks the step that completed this one opened for the same people on the same pathway and that are
        still open: a test's result, the content page a result leads to."""
        done = self._completed_at()
        return [t for t in queries.instance_human_tasks(self.task.instance_id)
                if done is not None and t.created_at == done and t.state == "open"
                and t.audience == self.task.audience and t.id != self.task.id]

    def opened_next(self) -> HumanTask | None:
        """Where to go on to once this task is sent: the first task its step opened that is a form or a step to
        read (a test's result); its page says that the answers were sent. A content page or a diary is offered
        as a link on the sent page instead (``opened``), and a step that told the client something at once
        (what a reading means) keeps her on the sent page, which says it."""
        done = self._completed_at()
        if done is None or notify.told_at(self.task.instance_id, self.task.version_id, done):
            return None
        return next((t for t in self.opened() if not _special(t)), None)

    def _completed_at(self):
        completion = queries.completion(self.task.id)  # the step's own time; the task row read before it is stale
        return completion.at if completion is not None else None

    def _keep_raw(self) -> None:
        """What the person typed stays in the fields, also when it could not be read as the right type."""
        self.values = {**(self.values or {}), **{"__raw__": request.form}}


def _special(task: HumanTask) -> bool:
    """Whether the task has a page of its own (content to read, a diary), not a form."""
    meta = content.meta_of(task)
    return bool(meta.get("content") or meta.get("diary"))
