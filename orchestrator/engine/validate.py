"""Checks a pathway package before SpiffWorkflow builds it. Every check reports; none stops early."""

import ast
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import jsonschema
from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from . import sandbox, schema_errors, templates, texts, timers
from .metadata import MAX_SUMMARY, camunda_form_name, human_tasks, priority_of
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
    """The file against the BPMN schema, after the rewrite SpiffWorkflow's own validator applies first (bpmn-js
    and SpiffArena write message correlation as ``correlationPropertyRetrievalExpression/formalExpression``)."""
    VALIDATOR.preprocess(root)
    try:
        VALIDATOR.validator.assertValid(root)
    except etree.DocumentInvalid:
        return schema_errors.readable(VALIDATOR.validator.error_log, root, filename)
    return []


@dataclass(frozen=True)
class Known:
    """What the package defines, for references to be checked against: decisions, processes, and the
    messages, signals, errors and escalations by their ids (``defined["message"]``)."""

    decisions: set[str]
    processes: set[str]
    defined: dict[str, set[str]]


def check_bpmn(root: etree._Element, filename: str, forms: FormLookup, known: Known) -> list[Problem]:
    check = Check(filename)
    for node in root.iter(etree.Element):
        tag = etree.QName(node).localname
        if tag in UNSUPPORTED:
            check.add(UNSUPPORTED[tag], node)
        elif tag in NODE_CHECKS:
            NODE_CHECKS[tag](check, node, known)
    for process in root.iter(f"{{{NS['bpmn']}}}process", f"{{{NS['bpmn']}}}subProcess"):
        _check_outgoing(check, process)
    for process in root.iterfind("bpmn:process", NS):
        for meta, node in human_tasks(process):
            _check_human_task(check, forms, meta, node)
    return check.problems


# Only these take several outgoing flows in SpiffWorkflow; BPMN's implicit split out of a task it does not run.
SPLITTING = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "startEvent"}


def _check_outgoing(check: Check, process: etree._Element) -> None:
    flows: dict[str, list[str]] = {}
    for flow in process.iterfind("bpmn:sequenceFlow", NS):
        flows.setdefault(flow.get("sourceRef"), []).append(flow.get("id"))
    for node in process:
        tag = etree.QName(node).localname if isinstance(node.tag, str) else ""
        out = flows.get(node.get("id"), [])
        if tag in FLOW_NODES and tag not in SPLITTING and len(out) > 1:
            check.add(f"a {tag} has {len(out)} outgoing flows ({', '.join(out)}), and only a gateway splits the way: "
                      "put a parallel gateway after it to take them all, or an exclusive gateway with conditions to "
                      "take one", node)


def _check_human_task(check: Check, forms: FormLookup, meta, node: etree._Element) -> None:
    if meta.form and meta.form != camunda_form_name(meta.id):
        _check_form(check, forms, meta.form, node, is_schema=True)
    if meta.ui_form:
        _check_form(check, forms, meta.ui_form, node, is_schema=False)
    if meta.due_in and timers.check_literal("duration", meta.due_in):
        check.add(f"dueIn {timers.check_literal('duration', meta.due_in)}", node)
    if meta.priority is not None and priority_of(meta.priority) is None:
        check.add(f"priority '{meta.priority}' is not a whole number from 0 to 100 (50 is routine, higher comes "
                  "first in the team's inbox)", node)
    if meta.summary and len(meta.summary) > MAX_SUMMARY:
        check.add(f"summary is {len(meta.summary)} characters; an inbox line is written in at most {MAX_SUMMARY}", node)
    elif meta.summary and templates.syntax_problem(meta.summary):
        check.add(f"summary cannot be read: {templates.syntax_problem(meta.summary)}", node)


def _check_call(check: Check, node: etree._Element, known: Known) -> None:
    called = (node.get("calledElement") or "").strip()
    if not called:
        check.add("calls no process: set its called element (calledElement) to the id of a process in the "
                  f"package ({', '.join(sorted(known.processes)) or 'none'})", node)
    elif called not in known.processes:
        check.add(f"calls process '{called}', which is not in the package", node)


CATCHING = {"startEvent", "intermediateCatchEvent", "boundaryEvent"}
REFERRED = {"messageEventDefinition": "message", "signalEventDefinition": "signal", "errorEventDefinition": "error",
            "escalationEventDefinition": "escalation", "receiveTask": "message", "sendTask": "message"}


def _check_event_ref(check: Check, node: etree._Element, known: Known) -> None:
    """An event or task names a message (signal, error, escalation) the package defines: else an instance would
    wait for nothing (``waiting_for: []`` for ever) or SpiffWorkflow would fail to build it. Only a message must
    be named; an error or escalation event without one catches any."""
    kind, tag = REFERRED[etree.QName(node).localname], etree.QName(node).localname
    owner = node.getparent() if tag.endswith("EventDefinition") else node
    waits = etree.QName(owner).localname in CATCHING | {"receiveTask"}
    verb, ref = ("waits for" if waits else "sends"), (node.get(f"{kind}Ref") or "").strip()
    names = known.defined.get(kind, set())
    defined = f"({', '.join(sorted(names))})" if names else f"(it defines none: add a bpmn:{kind})"
    if not ref and kind == "message" and tag != "sendTask":
        check.add(f"{verb} a message but names none: set its message (messageRef) to one the package defines "
                  f"{defined}", owner)
    elif ref and ref not in names:
        check.add(f"{verb} {kind} '{ref}', which the package does not define {defined}", owner)


def _check_catch(check: Check, node: etree._Element, known: Known) -> None:
    if not any(etree.QName(c).localname.endswith("EventDefinition") for c in node if isinstance(c.tag, str)):
        check.add("an intermediate catch event waits for something: give it a timer, a message or a signal", node)


NODE_CHECKS = {
    "timerEventDefinition": lambda check, node, _: _check_timer(check, node),
    "conditionExpression": lambda check, node, _: _check_condition(check, node.text, node.getparent()),
    "script": lambda check, node, _: _compile(check, node.text, "exec", "script", node.getparent()),
    "businessRuleTask": lambda check, node, known: _check_decision(check, node, known.decisions),
    "callActivity": _check_call,
    **dict.fromkeys(REFERRED, _check_event_ref),
    "intermediateCatchEvent": _check_catch,
}


def _check_timer(check: Check, node: etree._Element) -> None:
    event = node.getparent()
    exprs = [(timers.KINDS[etree.QName(c).localname], c.text or "") for c in node
             if etree.QName(c).localname in timers.KINDS]
    if not exprs:
        check.add("timer has no timeDuration, timeDate or timeCycle", event)
    for kind, text in exprs:
        reason = (f"the timer's {kind} is empty: write an expression, e.g. {EXAMPLES[kind]}" if not text.strip()
                  else timers.check_expression(kind, text))
        if reason:
            check.add(reason, event)


EXAMPLES = {"duration": '"P3D"', "date": '"2026-12-01T09:00:00+02:00" or plan_at(3, "07:00")',
            "cycle": '"R3/P1D"'}


# Conditions as Camunda writes them: JUEL (Camunda 7, "${approved}") and FEEL (Camunda 8, "= approved").
JUEL = re.compile(r"^\s*[#$]\{(.*)\}\s*$", re.DOTALL)
FEEL = re.compile(r"^\s*=\s*(.+)$", re.DOTALL)


def _check_condition(check: Check, source: str | None, node: etree._Element) -> None:
    """A condition is Python; one written in Camunda's JUEL or FEEL is refused with the Python to write."""
    for dialect, pattern in (("JUEL (Camunda 7)", JUEL), ("FEEL (Camunda 8)", FEEL)):
        found = pattern.match(source or "")
        if found:
            check.add(f"condition {source.strip()!r} is {dialect}; Polku's conditions are Python: write "
                      f"{_in_python(found.group(1))!r}", node)
            return
    _compile(check, source, "eval", "condition", node)


def _in_python(expression: str) -> str:
    """The usual JUEL/FEEL operators as Python writes them (&&, ||, !, "=" in FEEL, true/false/null)."""
    text = re.sub(r"\s*&&\s*|\s+and\s+", " and ", expression.strip())
    text = re.sub(r"\s*\|\|\s*|\s+or\s+", " or ", text)
    text = re.sub(r"!(?!=)\s*", "not ", text)
    text = re.sub(r"(?<![<>=!])=(?!=)", "==", text)
    for word, python in (("true", "True"), ("false", "False"), ("null", "None")):
        text = re.sub(rf"\b{word}\b", python, text)
    return text


def _compile(check: Check, source: str | None, mode: str, what: str, node: etree._Element) -> None:
    reason = _compile_problem(source, mode, what)
    if reason:
        check.add(reason, node)


def _compile_problem(source: str | None, mode: str, what: str) -> str | None:
    """Why pathway code does not compile under the sandbox's policy, or None."""
    if not source:
        return None
    try:
        ast.parse(source.strip(), mode=mode)
    except SyntaxError as exc:
        return f"{what} does not compile: {exc.msg} in {source.strip()[:80]!r}"
    try:
        (sandbox.compile_expression if mode == "eval" else sandbox.compile_script)(source)
    except sandbox.RestrictedCode as exc:
        return f"{what} uses what pathway code may not: {exc}"
    return None


# SpiffWorkflow's DMN engine reads "?" outside quotes in an input entry as the input's value.
DMN_INPUT = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")


def check_texts(settings: dict, pages: dict[str, str], name: str | None = None) -> list[Problem]:
    """The package's texts against what it does: a length its consent page states must be its ``duration``
    (``engine/texts.py``). ``settings`` as ``settings.read`` gives them, ``pages`` the Markdown pages by
    name, ``name`` the pathway's; a duration that is not ISO-8601 is reported by the settings already."""
    page = settings.get("consent")
    duration = settings.get("duration")
    if not page or page not in pages or (duration and timers.check_literal("duration", duration)):
        return []
    return texts.consent_problems(page, pages[page], duration, name)


def check_dmn(root: etree._Element, filename: str) -> list[Problem]:
    """Every expression of a decision table, as SpiffWorkflow's DMN engine will evaluate it
    (``SpiffWorkflow/dmn/engine/DMNEngine.py``), compiled under the sandbox's policy: the input
    expressions, each rule's input entries joined to their input, and its output entries."""
    problems = []
    for decision in root.iter("{*}decision"):
        for table in decision.iter("{*}decisionTable"):
            inputs = []  # each input's expression; None when there is none, or it is refused here already
            for node in table.iterfind("{*}input"):
                text = node.find("{*}inputExpression/{*}text")
                source = text.text if text is not None else None
                reason = _compile_problem(source, "eval", f"input expression of decision '{decision.get('id')}'")
                if reason:
                    problems.append(Problem(filename, reason, decision.get("id"), text.sourceline))
                inputs.append(None if reason else source)
            for rule in table.iterfind("{*}rule"):
                problems += _rule_problems(filename, rule, inputs)
    return problems


def _rule_problems(filename: str, rule: etree._Element, inputs: list[str | None]) -> list[Problem]:
    found = []

    def check(entry: etree._Element, expressions: list[str | None], what: str) -> None:
        text = entry.find("{*}text")
        line = (text if text is not None else entry).sourceline
        for expression in expressions:
            reason = _compile_problem(expression, "eval", f"{what} of rule '{rule.get('id')}'")
            if reason:
                found.append(Problem(filename, reason, rule.get("id"), line))

    for index, entry in enumerate(rule.iterfind("{*}inputEntry")):
        source = inputs[index] if index < len(inputs) and inputs[index] else "dmninputexpr"
        check(entry, _input_tests(source, entry.findtext("{*}text")), f"input entry {index + 1}")
    for index, entry in enumerate(rule.iterfind("{*}outputEntry")):
        check(entry, [entry.findtext("{*}text")], f"output entry {index + 1}")
    return found


def _input_tests(source: str, entry: str | None) -> list[str]:
    """What the DMN engine evaluates for one input entry: ``-`` (or none) matches anything; with ``?``
    the entry is evaluated with the input's value in its place; else it is compared with the input."""
    if entry is None or entry == "-":
        return []
    replaced = DMN_INPUT.sub("dmninputexpr", entry)
    if "dmninputexpr" in replaced:
        return [source, replaced]
    try:
        ast.parse(entry)
    except SyntaxError:
        return [source + entry]
    return [f"({source}) == ({entry})"]


def _check_decision(check: Check, node: etree._Element, decisions: set[str]) -> None:
    ref = node.findtext("bpmn:extensionElements/spiffworkflow:calledDecisionId", namespaces=NS)
    ref = (ref or node.get(f"{{{NS['camunda']}}}decisionRef") or "").strip()
    if not ref:
        check.add("business rule task names no decision: set its decision (spiffworkflow:calledDecisionId, or "
                  f"camunda:decisionRef in Camunda Modeler) to one of the package's ({', '.join(sorted(decisions))})"
                  if decisions else "business rule task names no decision, and the package has no DMN file: add "
                  "the decision table (.dmn) and name it (spiffworkflow:calledDecisionId or camunda:decisionRef)",
                  node)
    elif ref not in decisions:
        check.add(f"decision '{ref}' is not in any DMN file of the package", node)
    if node.get(f"{{{NS['camunda']}}}resultVariable"):
        check.add("camunda:resultVariable is not how Polku returns a decision: the decision's outputs become "
                  "process variables by their own names; remove resultVariable and use the output names", node)


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
