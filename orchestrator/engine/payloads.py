"""The messages a package declares: the fields a payload carries, and the human tasks a message leads to.

A ``bpmn:message`` may declare its payload's fields with the property ``payloadSchema`` (either dialect): a
JSON Schema file of the package whose properties have a ``title`` and may have a unit (``x-unit``). The
version's settings keep, under ``messages``, each message's schema and the human tasks it leads to, so that a
delivery is checked against its fields and its values are shown on those tasks, labelled (core/deliveries.py).
"""

import json
from collections.abc import Callable

import jsonschema
from lxml import etree

from .metadata import HUMAN_TAGS, process_properties
from .problems import Problem
from .xml import NS

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
        if tag in HUMAN_TAGS:
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
