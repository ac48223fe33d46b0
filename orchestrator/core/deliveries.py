"""Messages from outside (a lab result, say): the fields they declare, and what they delivered.

A message may declare its payload's fields (``payloadSchema``, see engine/settings.py): a payload that does
not fit them is refused naming each field, inside the step, so nothing is delivered. What a message
delivered is shown, labelled, on the human tasks it leads to, read from the history (``message_delivered``
events), never by loading the workflow.
"""

from ..engine import payloads
from . import queries
from .answers import field_errors
from .refusal import N_, Refused
from .store import store


def check_payload(version_id: int, name: str, payload: dict) -> None:
    """Refuse (422, each field named as a task's answers are) a payload that does not fit the fields the
    version declares for the message; one without a declaration takes any payload."""
    errors = field_errors(payloads.payload_schema(store().info(version_id).settings, name), payload)
    if errors:
        raise Refused(422, N_("the payload does not fit the fields of message '%(name)s'"), errors, name=name)


def delivered(task) -> list[dict]:
    """What the messages leading to ``task`` delivered before it opened, labelled from their declared fields:
    [{"message", "title", "at", "fields": [{"key", "title", "unit", "value"}]}]; empty for other tasks."""
    declared = payloads.leading_to(store().info(task.version_id).settings, task.spec)
    if not declared:
        return []  # most tasks: no history to read
    return latest_deliveries(declared, task.spec, task.created_at, queries.history(task.instance_id))


def latest_deliveries(declared: dict[str, dict], spec: str, opened_at, events) -> list[dict]:
    """What the ``declared`` messages leading to task ``spec`` (see ``payloads.leading_to``) delivered for its round
    that opened at ``opened_at``: the latest delivery of each since the task was last completed, oldest first,
    its values labelled (see :func:`labelled`).

    ``events`` are the instance's history rows in order (``kind``, ``spec``, ``at``, ``data``)."""
    latest: dict[str, object] = {}
    for event in events:
        if event.at > opened_at:
            continue
        if event.kind == "task_completed" and event.spec == spec:  # deliveries before belong to that round
            latest.clear()
        elif event.kind == "message_delivered" and event.spec in declared:
            latest[event.spec] = event
    return [{"message": name, "title": (declared[name].get("schema") or {}).get("title") or name, "at": event.at,
             "fields": labelled(declared[name].get("schema"), (event.data or {}).get("payload") or {})}
            for name, event in sorted(latest.items(), key=lambda item: item[1].at)]


def labelled(schema: dict | None, payload: dict) -> list[dict]:
    """A payload's values, each with its key and the ``title`` and ``x-unit`` its field declares: the declared
    fields first, in their order, then the keys no field declares, labelled with the key itself."""
    properties = {k: p for k, p in ((schema or {}).get("properties") or {}).items() if isinstance(p, dict)}
    keys = [k for k in properties if k in payload] + sorted(k for k in payload if k not in properties)
    return [{"key": key, "title": properties.get(key, {}).get("title") or key,
             "unit": properties.get(key, {}).get("x-unit"), "value": payload[key]} for key in keys]
