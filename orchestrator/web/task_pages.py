"""Client tasks that are not one-off forms: a content page to read, a diary that takes many entries."""

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth import guard
from ..care import content, diaries
from ..core import steps
from . import schema_form, timeline
from .task_form import Form


def special(task, instance):
    """The page for a content or diary task, or None when the task is an ordinary form."""
    meta = content.meta_of(task)
    if meta.get("content"):
        return content_page(task, instance)
    if meta.get("diary"):
        return diary_page(task, instance, meta["diary"])
    return None


def _done(task) -> None:
    """Complete a task that takes no answers (a refusal is answered by the error page)."""
    guard.may_act_on(task)
    steps.complete(task.id, {}, guard.actor())


def content_page(task, instance):
    """The page rendered from the package's Markdown (no raw HTML); each view is counted."""
    name, text = content.page_of(task)
    if request.method == "POST" and task.state == "open":
        _done(task)
        return redirect(url_for("client.pathway", instance_id=instance.id, read=task.id))
    content.count_view(instance, name, guard.user().role, guard.actor())
    return render_template("web/client/content.html", task=task, instance=instance, text=text)


def diary_page(task, instance, diary: str):
    """Add an entry, see the entries by day, and mark the diary done."""
    form, errors, refused = Form(task), {}, None
    if request.method == "POST" and task.state == "open":
        if request.form.get("action") == "done":
            _done(task)
            return redirect(url_for("client.pathway", instance_id=instance.id))
        else:
            answers, errors = schema_form.parse(form.schema, request.form)
            errors = {**schema_form.validate(form.schema, answers), **errors}
            if not errors:
                diaries.add(task, diary, answers, guard.actor())
                return redirect(url_for("client.task", task_id=task.id, added=1))
            form.values, form.errors = {**answers, "__raw__": request.form}, errors
    elif request.method == "POST":
        refused = _("This diary has ended, so the entry was not saved.")
    rows = diaries.entries(instance.id, task.id)
    days = [(day, [(entry, timeline.labelled(task, entry.data)) for entry in entries])
            for day, entries in diaries.by_day(rows, current_app.config["POLKU_TIME_ZONE"])]
    status = 422 if errors else 409 if refused else 200
    return render_template("web/client/diary.html", task=task, instance=instance, form=form, days=days,
                           diary=diary, refused=refused, added=request.args.get("added")), status
