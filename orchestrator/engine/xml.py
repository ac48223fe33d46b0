"""Hardened XML parsing: every BPMN/DMN file passes through here before SpiffWorkflow sees it."""

import re

from lxml import etree

from .problems import Problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS, "camunda": CAMUNDA_NS}


def _parser() -> etree.XMLParser:
    # No entity expansion, no DTD loading, no network: XXE and entity bombs go nowhere.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


# An XML declaration and comments may come before a DOCTYPE; nothing else may.
DOCTYPE = re.compile(rb"^\s*(<\?xml[^>]*\?>)?\s*(<!--.*?-->\s*)*<!DOCTYPE", re.DOTALL | re.IGNORECASE)


def parse_xml(data: bytes, filename: str) -> etree._Element | Problem:
    """Parse one file; return its root element or the problem that stops it."""
    if DOCTYPE.match(data[:4096]):
        # A modeller never writes a DOCTYPE; one here only serves entity tricks (XXE, entity bombs).
        return Problem(filename, "a DOCTYPE declaration is not allowed in a pathway file", line=1)
    try:
        tree = etree.fromstring(data, _parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        return Problem(filename, f"not well-formed XML: {exc.msg}", line=line)
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        # A modeller never writes a DOCTYPE; one here only serves entity tricks.
        return Problem(filename, "a DOCTYPE declaration is not allowed in a pathway file", line=1)
    return tree.getroot()

