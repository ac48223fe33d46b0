"""One way to say "this cannot be done, and here is why", from any layer, to any surface.

A ``Refused`` carries the HTTP status that says what kind of no it is and a reason: English with
``%(name)s`` placeholders, marked for translation. The API answers with the reason in English (JSON);
pages show it in the reader's language on the error page, with a way back (see the app's handler).
"""


def N_(text: str) -> str:
    """Marks a reason for the message catalogs; it is translated when shown, not here."""
    return text


class Refused(Exception):
    """Something that cannot be done as asked; ``status`` is the HTTP status that says why, ``errors``
    (when given) each problem found, as the API lists them."""

    def __init__(self, status: int, reason: str, errors: list[dict] | None = None, **values):
        self.status, self.reason, self.values, self.errors = status, reason, values, errors
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The reason in English, its placeholders filled in (logs and the API)."""
        return self.reason % self.values if self.values else self.reason

    def translated(self, gettext) -> str:
        """The reason in the reader's language, through the given ``gettext``."""
        return gettext(self.reason, **self.values)
