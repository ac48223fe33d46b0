"""Answers as people read them: a choice by its option's title, yes or no in the reader's language, a number
written their way ("82,5" in Finnish) with its unit, a date as a date, the chosen options of a list joined.

Answers are stored as the form's values ("3-4", 4, true); every place that shows them — the sent page, the
team's task and pathway pages, diaries, the FHIR export — words them here, from the form that asked them
(``core.answers.form_of``: its JSON Schema and UI schema).
"""

from dataclasses import dataclass, field
from datetime import date

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _

from ..core.answers import choices, in_order, options, rows, title, token, unit

NUMBERS = {"number", "integer"}


@dataclass(frozen=True)
class Answer:
    name: str
    question: str  # as the form asks it
    text: str  # the answer in words
    chosen: list[tuple[str, str]] = field(default_factory=list)  # a choice: (the stored value, its title) each

    @property
    def in_pathway_words(self) -> bool:
        """Whether the answer reads in the pathway's words (its options' titles) rather than the reader's
        language (yes, no, numbers) or the person's own."""
        return bool(self.chosen)


def in_words(form: dict, answers: dict) -> list[Answer]:
    """Each given answer under its question, in the order the form asks them; answers it does not ask (an older
    form's) come last under their own names."""
    schema, ui = form.get("form_schema") or {}, form.get("ui_schema") or {}
    asked = schema.get("properties") or {}
    found = [_answer(name, asked[name], ui.get(name) or {}, answers[name])
             for name in in_order(list(asked), ui.get("ui:order")) if answers.get(name) is not None]
    return found + [Answer(name, name, plain(value)) for name, value in answers.items()
                    if name not in asked and value is not None]


def _answer(name: str, prop: dict, ui: dict, value) -> Answer:
    question = title(prop, ui, name)
    if rows(prop) and isinstance(value, list):
        entries = (_entry(prop["items"], ui.get("items") or {}, row) for row in value if isinstance(row, dict))
        return Answer(name, question, "; ".join(entry for entry in entries if entry))
    if prop.get("type") != "boolean" and options(prop, ui):
        titles = dict(options(prop, ui))
        given = value if isinstance(value, list) else [value]
        chosen = [(token(v), str(titles.get(token(v), token(v)))) for v in given]
        return Answer(name, question, ", ".join(shown for _value, shown in chosen), chosen)
    return Answer(name, question, _words(prop, ui, value))


def _entry(item: dict, ui: dict, row: dict) -> str:
    """One entry of a list of entries: its given answers, each after its question."""
    asked = item.get("properties") or {}
    return ", ".join(f"{answer.question}: {answer.text}" for answer in
                     (_answer(name, asked[name], ui.get(name) or {}, row[name])
                      for name in in_order(list(asked), ui.get("ui:order")) if row.get(name) not in (None, "", [])))


def _words(prop: dict, ui: dict, value) -> str:
    if prop.get("format") == "date" and isinstance(value, str):
        try:
            return format_date(date.fromisoformat(value), "medium")
        except ValueError:
            return value
    text, given_in = plain(value), unit(prop, ui)
    return f"{text} {given_in}" if given_in and prop.get("type") in NUMBERS and not choices(prop) else text


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
