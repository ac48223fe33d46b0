"""What makes two deploys of a pathway the same version: its parsed content, not its bytes.

A modeller that opens a pathway and saves it unchanged writes other bytes: its own namespace prefixes and
attribute order, indentation, ``exporter`` stamps, attributes left out where they have the schema's default
(bpmn-js drops ``cancelActivity="true"``), ``bpmn:incoming``/``bpmn:outgoing`` lists added or left out
(the sequence flows say the same). None of that is a new version. Anything else is: an element, an
attribute, a text, a shape's place on the diagram (the version's diagram is drawn from its own files).
"""

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import SpiffWorkflow
from lxml import etree

from .xml import BPMN_NS, parse_xml

XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
STAMPS = {"exporter", "exporterVersion"}  # which tool wrote the file, not what it says
REDUNDANT = {f"{{{BPMN_NS}}}incoming", f"{{{BPMN_NS}}}outgoing"}  # each repeats a sequence flow's ends
DRAWING = ("http://www.omg.org/spec/DD/20100524/DC", "http://www.omg.org/spec/DD/20100524/DI")
XSD = "{http://www.w3.org/2001/XMLSchema}"


def content_digest(sources: dict[str, str | bytes], forms: dict, pages: dict[str, str],
                   payload_schemas: dict) -> str:
    """The digest of a package as deployed: its BPMN and DMN files as parsed, its forms, pages and message
    payload schemas. Everything it reads is kept with the version, so a stored version's digest can be
    worked out again from the version alone."""
    digest = hashlib.sha256()
    for name in sorted(sources):
        digest.update(name.encode() + b"\0" + _canonical(name, sources[name]) + b"\0")
    digest.update(json.dumps({"forms": forms, "pages": pages, "payloads": payload_schemas}, sort_keys=True,
                             ensure_ascii=False).encode())
    return digest.hexdigest()


def _canonical(name: str, source: str | bytes) -> bytes:
    data = source.encode() if isinstance(source, str) else source
    root = parse_xml(data, name)
    if not isinstance(root, etree._Element):  # compiled already, so never here; the bytes then speak for it
        return data
    return json.dumps(_element(root), ensure_ascii=False, separators=(",", ":")).encode()


def _element(node: etree._Element) -> list:
    attributes, bpmn = {}, etree.QName(node).namespace == BPMN_NS
    for key, value in node.attrib.items():
        if key in STAMPS or (bpmn and value in _defaults().get(key, ())):
            continue
        if key == XSI_TYPE:
            value = _resolved(node, value)
        elif etree.QName(node).namespace in DRAWING:
            value = _number(value)
        attributes[key] = value
    children = [_element(c) for c in node if isinstance(c.tag, str) and c.tag not in REDUNDANT]
    return [node.tag, sorted(attributes.items()), (node.text or "").strip(), children]


def _resolved(node: etree._Element, value: str) -> str:
    """A prefixed type name by its namespace: the prefix is the writer's choice."""
    prefix, _, local = value.rpartition(":")
    return f"{{{node.nsmap.get(prefix or None, '')}}}{local}"


def _number(value: str) -> str:
    try:
        return repr(float(value))
    except ValueError:
        return value


@lru_cache(maxsize=1)
def _defaults() -> dict[str, set[str]]:
    """The BPMN schema's attribute defaults by attribute name, read from the schema SpiffWorkflow validates
    with (``cancelActivity``: true, ``isInterrupting``: true, ``startQuantity``: 1, ...)."""
    schema = Path(SpiffWorkflow.__file__).parent / "bpmn" / "parser" / "schema" / "Semantic.xsd"
    found: dict[str, set[str]] = {}
    for attribute in etree.parse(str(schema)).iter(f"{XSD}attribute"):
        if attribute.get("name") and attribute.get("default") is not None:
            found.setdefault(attribute.get("name"), set()).add(attribute.get("default"))
    return found
