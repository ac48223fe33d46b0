"""The inbox's rows as the page shows them. What is the same on every row (the words around
a due time, the addresses' shape) is worked out once per page, not once per row."""

from datetime import datetime
from types import SimpleNamespace
from urllib.parse import quote

from babel import dates
from flask import url_for
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _

from ..core.store import store
from ..engine.metadata import ROUTINE
from .filters import ENGLISH, content_lang

PLACE = "__id__"  # stands for a task's or client's id in an address worked out once


class Rows:
    def __init__(self, at: datetime):
        self.at, self.locale, self.zone = at, get_locale(), get_timezone()
        english = self.locale.language == "en"
        # A moment as filters.when writes it ("short"; English its own way), its pattern read once for the page.
        self.pattern = dates.parse_pattern(ENGLISH["datetime"] if english else self.locale.datetime_formats["short"]
                                           .format(self.locale.time_formats["short"].pattern,
                                                   self.locale.date_formats["short"].pattern))
        self.words = {"late": _("was due %(when)s"), "due": _("Due %(when)s"), "now": _("Due now")}
        self.task = url_for("work.task", task_id=PLACE)
        self.client = url_for("work.client", client_id=PLACE)
        self.claim = url_for("work.assign", task_id=PLACE, what="claim")
        self.release = url_for("work.assign", task_id=PLACE, what="release")
        self.langs: dict[int, str] = {}  # each version's lang attribute for its own texts on this page

    def row(self, found, me: str) -> SimpleNamespace:
        """An inbox row with its due time in words (late or not, how long until or since), its moment, whether it
        is urgent, the lang of its pathway's texts and the addresses of its task, client and claim or release."""
        due, task_id = found["due_at"], found["id"]
        late = due is not None and due < self.at
        version = found["version_id"]
        if version not in self.langs:
            self.langs[version] = content_lang(store().info(version))
        urgent = found["priority"] > ROUTINE  # above routine: urgent
        return SimpleNamespace(
            **found, late=late, urgent=urgent, lang=self.langs[version],
            marks=" ".join(mark for mark, holds in (("urgent", urgent), ("late", late)) if holds),
            due_text=self._due(due, late) if due is not None else None,
            due_moment=self._moment(due) if due is not None else None,
            href=_put(self.task, task_id), client_href=_put(self.client, found["client_id"]),
            action=_put(self.release if found["assignee"] == me else self.claim, task_id))

    def _due(self, due: datetime, late: bool) -> str:
        """A due time in words: due in 3 hours, was due 2 days ago; within a minute of now, due now (never in 0
        seconds)."""
        if abs((due - self.at).total_seconds()) < 60:
            return self.words["now"]
        return self.words["late" if late else "due"] % {
            "when": dates.format_timedelta(due - self.at, add_direction=True, locale=self.locale)}

    def _moment(self, value: datetime) -> str:
        return self.pattern.apply(value.astimezone(self.zone), self.locale)


def _put(address: str, value: str) -> str:
    """An address worked out with ``PLACE`` for its id, with the id in its place (quoted as url_for would)."""
    head, _, tail = address.rpartition(f"/{PLACE}")
    return f"{head}/{quote(str(value), safe='')}{tail}"
