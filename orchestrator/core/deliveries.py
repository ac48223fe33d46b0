"""Messages from outside (a lab result, say): the fields they declare, and what they delivered.

A message may declare its payload's fields (``payloadSchema``, see engine/settings.py): a payload that does
not fit them is refused naming each field, inside the step, so nothing is delivered. What a message
delivered is shown, labelled, on the human tasks it leads to, read from the history (``message_delivered``
events), never by loading the workflow.
"""

from ..engine import settings as package_settings
from . import queries
from .answers import field_errors
from .refusal import N_, Refused
from .store import store


def check_payload(version_id: int, name: str, payload: dict) -> None:
    """Refuse (422, each field named as a task's answers are) a payload that does not fit the fields the
    version declares for the message; one without a declaration takes any payload."""
    errors = field_errors(package_settings.payload_schema(store().info(version_id).settings, name), payload)
    if errors:
        raise Refused(422, N_("the payload does not fit the fields of message '%(name)s'"), errors, name=name)


def delivered(task) -> list[dict]:
    """What the messages leading to ``task`` delivered before it opened, labelled from their declared fields:
    [{"message", "title", "at", "fields": [{"key", "title", "unit", "value"}]}]; empty for other tasks."""
    declared = package_settings.leading_to(store().info(task.version_id).settings, task.spec)
    if not declared:
        return []  # most tasks: no history to read
    return package_settings.delivered(declared, task.spec, task.created_at, queries.history(task.instance_id))
