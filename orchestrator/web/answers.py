"""Answers as people read them: a choice by its option's title, yes or no in the reader's language, a number
written their way ("82,5" in Finnish) with its unit, a date as a date, the chosen options of a list joined.

Answers are stored as the form's values ("3-4", 4, true); every place that shows them — the sent page, the
team's task and pathway pages, diaries, the FHIR export — words them here, from the form that asked them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _

from . import schema_form
from .schema_form import Field

OPTIONS = {"radio", "select", "checkboxes"}  # the form's own options, each with its title
NUMBERS = {"number", "integer", "range"}


@dataclass(frozen=True)
class Answer:
    name: str
    question: str  # as the form asks it
    text: str  # the answer in words
    chosen: list[tuple[str, str]] = field(default_factory=list)  # a choice: (the stored value, its title) each


def in_words(form: dict, answers: dict) -> list[Answer]:
    """Each given answer under its question, in the order the form (``core.answers.form_of``: its JSON Schema and UI
    schema) asks them; answers it does not ask (an older form's) come last under their own names."""
    fields = schema_form.build(form.get("form_schema") or {}, form.get("ui_schema"), answers)
    found = [_answer(f, answers[f.name]) for f in fields if answers.get(f.name) is not None]
    asked = {f.name for f in fields}
    return found + [Answer(name, name, plain(value)) for name, value in answers.items()
                    if name not in asked and value is not None]


def _answer(question: Field, value) -> Answer:
    if question.widget == "array":
        return Answer(question.name, question.label, "; ".join(_row(row) for row in question.items if _row(row)))
    if question.widget in OPTIONS:
        options = {token: str(title) for token, title in question.options}
        chosen = [(token, options.get(token, token)) for token in question.selected]
        return Answer(question.name, question.label, ", ".join(title for _token, title in chosen), chosen)
    return Answer(question.name, question.label, _words(question, value))


def _words(question: Field, value) -> str:
    if question.widget == "date" and isinstance(value, str):
        try:
            return format_date(date.fromisoformat(value), "medium")
        except ValueError:
            return value
    text = plain(value)
    return f"{text} {question.unit}" if question.unit and question.widget in NUMBERS else text


def _row(row: list[Field]) -> str:
    """One entry of a list of entries: its given answers, each after its question."""
    return ", ".join(f"{f.label}: {_answer(f, None).text if f.widget in OPTIONS else _words(f, f.value)}"
                     for f in row if f.selected or f.value)


def plain(value) -> str:
    """A value worded without its form: yes or no, a number the reader's way, a list's items joined."""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, int | float):
        return format_decimal(value)
    if isinstance(value, list):
        return ", ".join(plain(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}: {plain(item)}" for key, item in value.items())
    return str(value)
