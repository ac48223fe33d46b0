"""Reaching people and systems outside Polku: a client's reminders by e-mail and SMS through the outbox."""

from flask import Flask

from . import channels, reminders


def init(app: Flask) -> None:
    """The channels, and the step's writer of what goes out through them."""
    channels.install(app)
    app.extensions.setdefault("polku_in_step", []).append(reminders.in_step)
