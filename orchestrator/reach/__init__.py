"""Reaching people and systems outside Polku through the outbox: a client's reminders by e-mail and SMS, a
professional's daily digest, and events for other systems as signed CloudEvents."""

from flask import Flask

from . import channels, digest, reminders, webhooks


def init(app: Flask) -> None:
    """The channels, and the step's writer of what goes out through them."""
    channels.install(app)
    app.extensions.setdefault("polku_in_step", []).extend((reminders.in_step, webhooks.in_step))
    app.extensions.setdefault("polku_each_run", []).append(digest.when_due)
