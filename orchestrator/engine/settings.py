"""A pathway's own settings, read from its process properties and checked at deploy.

Every setting is a ``spiffworkflow:property`` (or ``camunda:property``) on the pathway's process:

==========================  ==================================================================
``duration``                ISO-8601 length, e.g. ``P12W``: a still-running instance ends then
``consent``                 the Markdown page in the package with the informed-consent text
``replyWithinWorkingDays``  the service promise for messages, e.g. ``2`` (professional only)
``messageTeam``             the care team that answers the client's messages
``phases``                  ``P0D Aloitus; P1W Seuranta``: offsets from the start and names
``module:<variable>``       an optional module the professional switches on or off (a boolean)
``target:<measurement>``    the target range the charts draw, ``90-135``
``measurements``            kinds the client may also record freely, ``weight,waist``
``goal:<metric>``           a metric's target for the traffic lights, ``goal:within_promise`` = ``95``
==========================  ==================================================================

A ``bpmn:message`` may declare the fields its payload carries with the property ``payloadSchema``: a JSON
Schema file of the package whose properties have a ``title`` and may have a unit (``x-unit``). The
settings keep, under ``messages``, each message's schema and the human tasks it leads to (see
:func:`messages`), so that a delivery is checked against its fields and its values are shown on those
tasks, labelled.
"""

import json
import re
from collections.abc import Callable

import jsonschema
from lxml import etree

from ..metrics.names import UNITS as METRICS
from .measurements import KINDS as MEASUREMENTS
from .metadata import process_properties
from .problems import Problem
from .timers import check_literal
from .xml import NS

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
WHOLE = re.compile(r"^\s*[0-9]{1,3}\s*$", re.ASCII)
RANGE = re.compile(r"^\s*(-?\d+(?:[.,]\d+)?)\s*-\s*(-?\d+(?:[.,]\d+)?)\s*$")


def read(process: etree._Element, filename: str, kind: str, pages: set[str]) -> tuple[dict, list[Problem]]:
    """The settings as stored with the version, and the problems found in them."""
    props = process_properties(process)
    problems: list[Problem] = []

    def problem(reason: str) -> None:
        problems.append(Problem(filename, reason, process.get("id"), process.sourceline))

    settings: dict = {"duration": props.get("duration"), "consent": props.get("consent"),
                      "message_team": props.get("messageTeam"),
                      "reply_within_working_days": _promise(props.get("replyWithinWorkingDays"), kind, problem),
                      "phases": _phases(props.get("phases"), problem), "modules": {}, "targets": {}, "goals": {},
                      "measurements": _measurements(props.get("measurements"), problem)}
    if settings["duration"] and check_literal("duration", settings["duration"]):
        problem(f"duration {check_literal('duration', settings['duration'])}")
    if settings["message_team"] and kind == "self-care":
        problem("a self-care pathway has no messages, so no messageTeam")
    if settings["consent"] and settings["consent"] not in pages:
        problem(f"consent page '{settings['consent']}' is not a Markdown file of the package")
    for name, value in sorted(props.items()):
        prefix, _, rest = name.partition(":")
        if prefix == "module":
            _module(settings, rest, value, problem)
        elif prefix == "target":
            _target(settings, rest, value, problem)
        elif prefix == "goal":
            _goal(settings, rest, value, problem)
    return settings, problems


def _promise(value: str | None, kind: str, problem) -> int | None:
    if value is None:
        return None
    if not WHOLE.match(value) or not 0 < int(value) <= 30:
        problem(f"replyWithinWorkingDays must be a whole number of working days (1–30), not '{value}'")
    elif kind == "self-care":
        problem("a self-care pathway has no messages, so no replyWithinWorkingDays")
    else:
        return int(value)
    return None


def _measurements(value: str | None, problem) -> list[str]:
    found = []
    for key in filter(None, (k.strip() for k in (value or "").split(","))):
        if key in MEASUREMENTS:
            found.append(key)
        else:
            problem(f"measurements: '{key}' is not one of {', '.join(MEASUREMENTS)}")
    return found


def _module(settings: dict, name: str, label: str | None, problem) -> None:
    if IDENTIFIER.match(name):
        settings["modules"][name] = label or name
    else:
        problem(f"module '{name}' must be a lower-case variable name (letters, digits, _)")


def _phases(value: str | None, problem) -> list[dict]:
    phases = []
    for entry in filter(None, (e.strip() for e in (value or "").split(";"))):
        offset, _, name = entry.partition(" ")
        if check_literal("duration", offset) or not name.strip():
            problem(f"phases: '{entry}' is not '<ISO-8601 offset> <name>', e.g. 'P1W Seuranta'")
        else:
            phases.append({"offset": offset, "name": name.strip()})
    starts = [_length(p["offset"]) for p in phases]
    if starts != sorted(starts):
        problem("phases must be listed in the order they begin")
    return phases


def _length(offset: str) -> float:
    """An ISO-8601 duration's rough length in days, for ordering (a month as 30 days, a year as 365)."""
    days = {"Y": 365, "M": 30, "W": 7, "D": 1}
    date_part, _, time_part = offset[1:].partition("T")
    total = sum(float(n.replace(",", ".")) * days[u] for n, u in re.findall(r"([\d.,]+)([YMWD])", date_part))
    hours = {"H": 1 / 24, "M": 1 / 1440, "S": 1 / 86400}
    return total + sum(float(n.replace(",", ".")) * hours[u] for n, u in re.findall(r"([\d.,]+)([HMS])", time_part))


def _goal(settings: dict, key: str, value: str | None, problem) -> None:
    """A metric's target for the traffic lights, e.g. ``goal:response_rate`` = ``80`` (per cent)."""
    try:
        number = float((value or "").replace(",", "."))
    except ValueError:
        number = None
    if key not in METRICS:
        problem(f"goal:{key}: '{key}' is not a metric ({', '.join(METRICS)})")
    elif number is None or not number > 0 or number != number or number == float("inf"):
        problem(f"goal:{key} must be a positive number, not '{value}'")
    else:
        settings["goals"][key] = number


def _target(settings: dict, key: str, value: str | None, problem) -> None:
    found = RANGE.match(value or "")
    if key not in MEASUREMENTS:
        problem(f"target:{key}: '{key}' is not one of {', '.join(MEASUREMENTS)}")
    elif not found or float(found[1].replace(",", ".")) >= float(found[2].replace(",", ".")):
        problem(f"target:{key} must be a range such as '90-135', not '{value}'")
    else:
        settings["targets"][key] = [float(found[1].replace(",", ".")), float(found[2].replace(",", "."))]


# --------------------------------------------------------------------------- messages and their payloads

HUMAN = ("userTask", "manualTask")
CONTAINERS = ("subProcess", "transaction", "adHocSubProcess")


def messages(bpmn: dict[str, etree._Element], files: Callable[[str], bytes | None]) -> tuple[dict, list[Problem]]:
    """Every message of the package by name: its ``payloadSchema`` (file and schema, None without one) and the
    human tasks it leads to; and the problems found in the declarations."""
    found, problems = {}, []
    for filename, root in sorted(bpmn.items()):
        for message in root.iterfind("bpmn:message", NS):
            name = message.get("name") or message.get("id")
            file = process_properties(message).get("payloadSchema")
            schema, reason = _payload_schema(file, files) if file else (None, None)
            if reason is None and name in found and found[name]["payload_schema"] != file:
                reason = f"message '{name}' is declared again with another payloadSchema"
            if reason:
                problems.append(Problem(filename, reason, message.get("id"), message.sourceline))
            elif name not in found:
                found[name] = {"payload_schema": file, "schema": schema, "leads_to": []}
            if name in found:
                found[name]["leads_to"] = sorted(set(found[name]["leads_to"]) | _leads_to(root, message.get("id")))
    return found, problems


def _payload_schema(file: str, files: Callable[[str], bytes | None]) -> tuple[dict | None, str | None]:
    """The schema a message declares, or why it cannot be used."""
    data = files(file)
    if data is None:
        return None, f"payloadSchema file '{file}' not found in the package"
    try:
        schema = json.loads(data)
    except ValueError as exc:
        return None, f"payloadSchema file '{file}' is not valid JSON: {exc}"
    try:
        jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator).check_schema(schema)
    except jsonschema.SchemaError as exc:
        return None, f"payloadSchema file '{file}' is not a valid JSON Schema: {exc.message}"
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return None, f"payloadSchema file '{file}' must describe an object (\"type\": \"object\")"
    for key, prop in sorted((schema.get("properties") or {}).items()):
        if isinstance(prop, dict) and not all(isinstance(prop.get(k, ""), str) for k in ("title", "x-unit")):
            return None, f"payloadSchema file '{file}': the title and x-unit of '{key}' must be text"
    return schema, None


def _leads_to(root: etree._Element, message_id: str | None) -> set[str]:
    """The human tasks first reached after the events and receive tasks that catch this message."""
    nodes = {n.get("id"): n for n in root.iter(etree.Element) if n.get("id")}
    after: dict[str, list[str]] = {}
    for flow in root.iterfind(".//bpmn:sequenceFlow", NS):
        after.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
    catching = [d.getparent() for d in root.iterfind(".//bpmn:messageEventDefinition", NS)
                if d.get("messageRef") == message_id]
    catching += [t for t in root.iterfind(".//bpmn:receiveTask", NS) if t.get("messageRef") == message_id]
    found, seen = set(), set()
    waiting = [target for node in catching for target in after.get(node.get("id"), [])]
    while waiting:
        node = nodes.get(waiting.pop())
        if node is None or node.get("id") in seen:
            continue
        seen.add(node.get("id"))
        tag, parent = etree.QName(node).localname, node.getparent()
        if tag in HUMAN:
            found.add(node.get("id"))
            continue
        if tag in CONTAINERS:  # into the subprocess, through its plain start events
            waiting += [s.get("id") for s in node.iterfind("bpmn:startEvent", NS)
                        if not any(etree.QName(c).localname.endswith("EventDefinition") for c in s)]
        elif tag == "endEvent" and etree.QName(parent).localname in CONTAINERS:  # out of it again
            waiting += after.get(parent.get("id"), [])
        waiting += after.get(node.get("id"), [])
    return found


def payload_schema(settings: dict, name: str) -> dict | None:
    """The schema a version declares for message ``name``'s payload; None when it declares none."""
    return ((settings.get("messages") or {}).get(name) or {}).get("schema")


def leading_to(settings: dict, spec: str) -> dict[str, dict]:
    """The messages (by name, as declared) that lead to human task ``spec``."""
    return {name: m for name, m in (settings.get("messages") or {}).items() if spec in m.get("leads_to", ())}


def delivered(declared: dict[str, dict], spec: str, opened_at, events) -> list[dict]:
    """What the ``declared`` messages leading to task ``spec`` (see :func:`leading_to`) delivered for its round
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
