"""Task services for reading: a task's form and UI schema."""

from flask import current_app

from .models import HumanTask


def form_of(task: HumanTask) -> dict:
    info = current_app.extensions["polku_store"].info(task.version_id)
    meta = info.task_meta.get(task.spec, {})
    return {"form_schema": info.forms.get(task.form) if task.form else None,
            "ui_schema": info.forms.get(meta.get("ui_form")) if meta.get("ui_form") else None}
