"""Checks a pathway package before SpiffWorkflow builds it. Every check reports; none stops early."""

import ast
import json
from collections.abc import Callable

import jsonschema
from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from . import sandbox, timers
from .metadata import camunda_form_name, human_tasks
from .problems import Problem
from .xml import NS

FLOW_NODES = {
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "subProcess", "adHocSubProcess", "transaction", "callActivity", "startEvent",
    "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway",
    "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
}
UNSUPPORTED = {"complexGateway": "complex gateways are not supported; use exclusive or inclusive gateways"}
FormLookup = Callable[[str], bytes | None]


class Check:
    """Collects problems for one file."""

    def __init__(self, filename: str):
        self.filename = filename
        self.problems: list[Problem] = []

    def add(self, reason: str, node: etree._Element | None = None) -> None:
        element = node.get("id") if node is not None else None
        line = node.sourceline if node is not None else None
        self.problems.append(Problem(self.filename, reason, element, line))


def schema_problems(root: etree._Element, filename: str) -> list[Problem]:
    try:
        VALIDATOR.validator.assertValid(root)
    except etree.DocumentInvalid:
        return [Problem(filename, f"not valid BPMN: {e.message}", line=e.line)
                for e in VALIDATOR.validator.error_log]
    return []


def check_bpmn(root: etree._Element, filename: str, forms: FormLookup, decisions: set[str],
               processes: set[str]) -> list[Problem]:
    check = Check(filename)
    for node in root.iter(etree.Element):
        tag = etree.QName(node).localname
        if tag in UNSUPPORTED:
            check.add(UNSUPPORTED[tag], node)
        elif tag in NODE_CHECKS:
            NODE_CHECKS[tag](check, node, decisions, processes)
    for process in root.iterfind("bpmn:process", NS):
        for meta, node in human_tasks(process):
            _check_human_task(check, forms, meta, node)
    return check.problems


def _check_human_task(check: Check, forms: FormLookup, meta, node: etree._Element) -> None:
    if meta.form and meta.form != camunda_form_name(meta.id):
        _check_form(check, forms, meta.form, node, is_schema=True)
    if meta.ui_form:
        _check_form(check, forms, meta.ui_form, node, is_schema=False)
    if meta.due_in and timers.check_literal("duration", meta.due_in):
        check.add(f"dueIn {timers.check_literal('duration', meta.due_in)}", node)


def _check_call(check: Check, node: etree._Element, decisions: set[str], processes: set[str]) -> None:
    if node.get("calledElement") not in processes:
        check.add(f"calls process '{node.get('calledElement')}', which is not in the package", node)


NODE_CHECKS = {
    "timerEventDefinition": lambda check, node, *_: _check_timer(check, node),
    "conditionExpression": lambda check, node, *_: _compile(check, node.text, "eval", "condition", node.getparent()),
    "script": lambda check, node, *_: _compile(check, node.text, "exec", "script", node.getparent()),
    "businessRuleTask": lambda check, node, decisions, _: _check_decision(check, node, decisions),
    "callActivity": _check_call,
}


def _check_timer(check: Check, node: etree._Element) -> None:
    event = node.getparent()
    exprs = [(timers.KINDS[etree.QName(c).localname], c.text or "") for c in node
             if etree.QName(c).localname in timers.KINDS]
    if not exprs:
        check.add("timer has no timeDuration, timeDate or timeCycle", event)
    for kind, text in exprs:
        reason = timers.check_expression(kind, text)
        if reason:
            check.add(reason, event)


def _compile(check: Check, source: str | None, mode: str, what: str, node: etree._Element) -> None:
    if not source:
        return
    try:
        ast.parse(source.strip(), mode=mode)
    except SyntaxError as exc:
        check.add(f"{what} does not compile: {exc.msg} in {source.strip()[:80]!r}", node)
        return
    try:
        (sandbox.compile_expression if mode == "eval" else sandbox.compile_script)(source)
    except sandbox.RestrictedCode as exc:
        check.add(f"{what} uses what pathway code may not: {exc}", node)


def _check_decision(check: Check, node: etree._Element, decisions: set[str]) -> None:
    ref = node.findtext("bpmn:extensionElements/spiffworkflow:calledDecisionId", namespaces=NS)
    ref = (ref or node.get(f"{{{NS['camunda']}}}decisionRef") or "").strip()
    if not ref:
        check.add("business rule task names no decision (spiffworkflow:calledDecisionId)", node)
    elif ref not in decisions:
        check.add(f"decision '{ref}' is not in any DMN file of the package", node)


def _check_form(check: Check, forms: FormLookup, name: str, node: etree._Element, is_schema: bool) -> None:
    data = forms(name)
    if data is None:
        check.add(f"form file '{name}' not found", node)
        return
    try:
        schema = json.loads(data)
    except ValueError as exc:
        check.add(f"form file '{name}' is not valid JSON: {exc}", node)
        return
    if not is_schema:
        return
    try:
        jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator).check_schema(schema)
    except jsonschema.SchemaError as exc:
        check.add(f"form file '{name}' is not a valid JSON Schema: {exc.message}", node)
    else:
        if not isinstance(schema, dict) or schema.get("type") != "object":
            check.add(f"form file '{name}' must describe an object (\"type\": \"object\")", node)
