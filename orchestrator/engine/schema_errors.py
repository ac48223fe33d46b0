"""The BPMN schema's complaints in a designer's words.

libxml2 reports a schema error as ``Element '{http://www.omg.org/spec/BPMN/20100524/MODEL}laneSet', attribute
'id': 'Pool 2_laneSet' is not a valid value of the atomic type 'xs:ID'.``: namespaces in full, XML Schema's
types, and no word of what to do. Each kind of complaint a modeller's file meets is said here as what is wrong
and how to mend it, with the element the line holds; anything else keeps libxml2's text with short prefixes.
"""

import re

from lxml import etree

from .problems import Problem
from .xml import BPMN_NS, CAMUNDA_NS, SPIFF_NS

PREFIXES = {BPMN_NS: "bpmn", SPIFF_NS: "spiffworkflow", CAMUNDA_NS: "camunda",
            "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi", "http://www.omg.org/spec/DD/20100524/DC": "dc",
            "http://www.omg.org/spec/DD/20100524/DI": "di"}
CLARK = re.compile(r"\{([^}]*)\}([\w.-]+)")
ELEMENT = re.compile(r"^Element '([^']+)'(?:, attribute '([^']+)')?: (.*)$", re.DOTALL)
ATOMIC = re.compile(r"^'(.*)' is not a valid value of the atomic type '(?:xs:)?(\w+)'")
EXPECTED = re.compile(r"Expected is (?:one of )?\( (.*) \)")
NCNAME = re.compile(r"^[A-Za-z_][\w.-]*$")
TYPES = {"boolean": "true or false", "integer": "a whole number", "int": "a whole number",
         "nonNegativeInteger": "a whole number, 0 or more", "positiveInteger": "a whole number, 1 or more",
         "double": "a number", "float": "a number", "anyURI": "an address (URI)", "QName": "a name such as bpmn:tTask"}


def readable(entries, root: etree._Element, filename: str) -> list[Problem]:
    """One problem per schema error, said as what to mend, with the element and line it is on."""
    return [Problem(filename, say(e.message), _element_id(root, e.line, e.message), e.line) for e in entries]


def say(message: str) -> str:
    """libxml2's schema message in a designer's words."""
    found = ELEMENT.match(message.strip())
    if not found:
        return "not valid BPMN: " + _short(message)
    tag, attribute, rest = _short(found.group(1)), found.group(2), found.group(3).strip()
    atomic = ATOMIC.match(rest)
    if attribute and atomic:
        return _bad_value(tag, attribute, atomic.group(1), atomic.group(2))
    if "is not allowed" in rest and attribute:
        return (f"{tag} has an attribute '{attribute}' that BPMN does not define: remove it, or write it as an "
                "extension in a namespace of its own")
    if "is required but missing" in rest:
        missing = re.search(r"attribute '([^']+)'", rest)
        return f"{tag} needs the attribute {missing.group(1) if missing else '(unnamed)'}"
    expected = EXPECTED.search(rest)
    if "This element is not expected" in rest:
        allowed = f": here BPMN allows {_list(expected.group(1))}" if expected else ""
        return f"{tag} is not allowed at this place (BPMN fixes which parts an element has, and their order){allowed}"
    if "Missing child element" in rest:
        return f"{tag} is missing a part it must have" + (f": {_list(expected.group(1))}" if expected else "")
    return f"not valid BPMN: {tag}{f', attribute {attribute}' if attribute else ''}: {_short(rest)}"


def _bad_value(tag: str, attribute: str, value: str, kind: str) -> str:
    if kind == "ID" and NCNAME.match(value):
        return f"{tag}: the id '{value}' is used by another element too; every id in a file is its own"
    if kind in ("ID", "IDREF", "NCName"):
        what = "id" if kind == "ID" else f"{attribute} (a reference to an id)"
        return (f"{tag}: the {what} '{value}' is not a valid XML id, which starts with a letter or '_' and has only "
                f"letters, digits, '_', '-' and '.' (no spaces): e.g. '{_as_id(value)}'")
    return f"{tag}: {attribute} must be {TYPES.get(kind, f'of XML type {kind}')}, not '{value}'"


def _as_id(value: str) -> str:
    mended = re.sub(r"[^\w.-]", "_", value)
    return mended if NCNAME.match(mended) else f"_{mended}"


def _short(text: str) -> str:
    return CLARK.sub(lambda m: f"{PREFIXES[m.group(1)]}:{m.group(2)}" if m.group(1) in PREFIXES else m.group(2),
                     text).strip()


def _list(names: str) -> str:
    shown = [_short(n.strip()) for n in names.split(",") if n.strip()]
    return ", ".join(shown[:8]) + (f" and {len(shown) - 8} more" if len(shown) > 8 else "")


def _element_id(root: etree._Element, line: int | None, message: str) -> str | None:
    """The id of the element the error is about: the one of its tag on its line, or the nearest with an id."""
    tag = CLARK.search(message)
    for node in root.iter(etree.Element):
        if node.sourceline == line and (tag is None or etree.QName(node).localname == tag.group(2)):
            while node is not None and not node.get("id"):
                node = node.getparent()
            return node.get("id") if node is not None else None
    return None
