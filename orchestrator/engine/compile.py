"""Turns a pathway package (BPMN, DMN and form files) into a serialized, versionable spec."""

import copy
import json
import sys
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from . import payloads
from . import settings as package_settings
from .digest import content_digest
from .measurements import field_problems, plausible, score_problems
from .metadata import camunda_form_name, camunda_form_schema, human_tasks, process_properties, timer_events
from .problems import PackageInvalid, Problem
from .timekeeping import zone_problem
from .validate import Known, check_bpmn, check_dmn, check_texts, schema_problems
from .xml import NS, parse_xml

DMN_DECISION = "{*}decision"
# SpiffWorkflow parses and predicts flows recursively: one level per node in a sequence.
RECURSION_LIMIT = 20_000


@contextmanager
def deep_recursion():
    # Only ever raised, never restored: restoring would race with steps running in other threads.
    if sys.getrecursionlimit() < RECURSION_LIMIT:
        sys.setrecursionlimit(RECURSION_LIMIT)
    yield


@dataclass
class CompiledPathway:
    process_id: str
    name: str
    content_hash: str
    spec: dict
    task_meta: dict[str, dict]
    forms: dict[str, dict]
    sources: dict[str, str] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    time_zone: str | None = None  # dates without a zone are read in it; the service default when None
    kind: str = "professional"  # or "self-care": started and ended by the client, followed by no team
    settings: dict = field(default_factory=dict)  # see engine/settings.py
    content: dict[str, str] = field(default_factory=dict)  # the package's Markdown pages by file name


MAX_PAGE = 200_000


def compile_package(files: dict[str, bytes], forms: Callable[[str], bytes | None], registry,
                    pages: dict[str, bytes] | None = None) -> CompiledPathway:
    """Validate everything, then parse; raise PackageInvalid listing every problem found."""
    trees, problems = _parse_all(files)
    content = _pages(pages or {}, problems)
    if problems:
        raise PackageInvalid(problems)
    bpmn = {n: t for n, t in trees.items() if n.endswith(".bpmn")}
    dmn = {n: t for n, t in trees.items() if n.endswith(".dmn")}
    problems += [Problem(n, "SpiffWorkflow reads one decision per DMN file: put each decision in a file of its own")
                 for n, t in dmn.items() if len(list(t.iter(DMN_DECISION))) > 1]
    decisions = {d.get("id") for t in dmn.values() for d in t.iter(DMN_DECISION)}
    processes = {p.get("id"): (n, p) for n, t in bpmn.items() for p in t.iterfind("bpmn:process", NS)}
    known = Known(decisions, set(processes), {kind: {m.get("id") for t in bpmn.values()
                                                     for m in t.iterfind(f"bpmn:{kind}", NS)}
                                              for kind in ("message", "signal", "error", "escalation")})
    invalid = {name: schema_problems(tree, name) for name, tree in bpmn.items()}
    if any(invalid.values()):  # what else is said of a file the schema refuses follows from it
        raise PackageInvalid(problems + [p for found in invalid.values() for p in found])
    for name, tree in bpmn.items():
        problems += check_bpmn(tree, name, forms, known)
    for name, tree in dmn.items():
        problems += check_dmn(tree, name)
    main, main_problems = _main_process(processes, files)
    problems += main_problems
    time_zone = _time_zone(processes[main], problems) if main else None
    kind = _kind(processes[main], problems) if main else "professional"
    settings, setting_problems = package_settings.read(processes[main][1], processes[main][0], kind, set(content)) \
        if main else ({}, [])
    problems += setting_problems
    if main:
        problems += check_texts(settings, content, processes[main][1].get("name"))
    declared, message_problems = payloads.messages(bpmn, forms)
    problems += message_problems
    if problems:
        raise PackageInvalid(problems)
    settings["messages"] = declared
    meta, used_forms = _task_meta(processes, forms, set(content))
    spec = _spiff_spec(bpmn, dmn, main, registry)
    filename, process = processes[main]
    return CompiledPathway(
        process_id=main,
        name=process.get("name") or main,
        content_hash=content_digest(files, used_forms, content, payload_schemas(settings)),
        spec=spec,
        task_meta=meta,
        forms=used_forms,
        sources={n: d.decode("utf-8", errors="replace") for n, d in files.items()},
        messages=sorted({m.get("name") or m.get("id") for t in bpmn.values()
                         for m in t.iterfind("bpmn:message", NS)}),
        time_zone=time_zone,
        kind=kind,
        settings=settings,
        content=content,
    )


def _pages(pages: dict[str, bytes], problems: list[Problem]) -> dict[str, str]:
    """The package's Markdown pages as text; one that is not UTF-8 or is too long is named."""
    found = {}
    for name, data in sorted(pages.items()):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(Problem(name, f"a content page must be UTF-8 text: {exc.reason} at byte {exc.start}"))
            continue
        if len(text) > MAX_PAGE:
            problems.append(Problem(name, f"a content page may be at most {MAX_PAGE:,} characters"))
        found[name] = text
    return found


def _time_zone(located: tuple[str, etree._Element], problems: list[Problem]) -> str | None:
    filename, process = located
    name = process_properties(process).get("timeZone")
    reason = name is not None and zone_problem(name)
    if reason:
        problems.append(Problem(filename, f"timeZone {reason}", process.get("id"), process.sourceline))
    return name


KINDS = ("professional", "self-care")


def _kind(located: tuple[str, etree._Element], problems: list[Problem]) -> str:
    """The process property ``pathwayKind``: professional (the default) or self-care."""
    filename, process = located
    kind = process_properties(process).get("pathwayKind", "professional")
    if kind not in KINDS:
        problems.append(Problem(filename, f"pathwayKind must be 'professional' or 'self-care', not '{kind}'",
                                process.get("id"), process.sourceline))
    return kind


def _parse_all(files: dict[str, bytes]) -> tuple[dict[str, etree._Element], list[Problem]]:
    trees, problems = {}, []
    if not any(n.endswith(".bpmn") for n in files):
        problems.append(Problem("(package)", "the package has no .bpmn file"))
    for name, data in sorted(files.items()):
        if not name.endswith((".bpmn", ".dmn")):
            problems.append(Problem(name, "only .bpmn and .dmn files belong beside the forms"))
            continue
        parsed = parse_xml(data, name)
        if isinstance(parsed, Problem):
            problems.append(parsed)
        else:
            trees[name] = parsed
    return trees, problems


def _main_process(processes: dict, files: dict[str, bytes]) -> tuple[str | None, list[Problem]]:
    called = {c.get("calledElement") for _, p in processes.values() for c in p.iterfind(".//bpmn:callActivity", NS)}
    mains = [pid for pid, (_, p) in processes.items() if p.get("isExecutable") == "true" and pid not in called]
    if not mains:  # a modeller that leaves isExecutable out: the one process not marked "false" is the pathway
        mains = [pid for pid, (_, p) in processes.items() if p.get("isExecutable") is None and pid not in called]
    first_file = sorted(n for n in files if n.endswith(".bpmn"))[:1] or ["(package)"]
    if len(mains) != 1:
        reason = ("no executable process (set isExecutable=\"true\" on the pathway's process)" if not mains
                  else f"several executable processes ({', '.join(sorted(mains))}); mark only the pathway's own")
        return None, [Problem(first_file[0], reason)]
    filename, process = processes[mains[0]]
    if process.find("bpmn:startEvent", NS) is None:
        return None, [Problem(filename, "the process has no start event", mains[0], process.sourceline)]
    return mains[0], []


def _spiff_spec(bpmn: dict, dmn: dict, main: str, registry) -> dict:
    parser = SpiffBpmnParser(validator=None)
    try:
        with deep_recursion():
            for name, tree in dmn.items():
                parser.add_dmn_xml(tree, filename=name)
            for name, tree in bpmn.items():
                parser.add_bpmn_xml(_as_spiff_reads(tree), filename=name)
            spec = parser.get_spec(main)
            subprocesses = parser.get_subprocess_specs(main)
            return {"spec": registry.convert(spec),
                    "subprocess_specs": {k: registry.convert(v) for k, v in subprocesses.items()}}
    except ValidationException as exc:
        raise PackageInvalid([_spiff_problem(exc, bpmn)]) from None
    except RecursionError:
        raise PackageInvalid([Problem("(package)", "the process is nested too deeply to build")]) from None
    except Exception as exc:  # noqa: BLE001 - SpiffWorkflow reports some malformed files with plain errors
        raise PackageInvalid([Problem("(package)", f"the package could not be built: {type(exc).__name__}: {exc}")]) \
            from None


def _as_spiff_reads(tree: etree._Element) -> etree._Element:
    """A copy of a file as SpiffWorkflow's parser reads it: Camunda Modeler's ``camunda:decisionRef`` becomes
    the ``spiffworkflow:calledDecisionId`` it looks for (the stored source stays as the designer wrote it)."""
    tree = copy.deepcopy(tree)
    for task in tree.iterfind(".//bpmn:businessRuleTask[@camunda:decisionRef]", NS):
        extensions = task.find("bpmn:extensionElements", NS)
        if extensions is None:
            extensions = etree.Element(f"{{{NS['bpmn']}}}extensionElements")
            task.insert(1 if task.find("bpmn:documentation", NS) is not None else 0, extensions)
        if extensions.find("spiffworkflow:calledDecisionId", NS) is None:
            etree.SubElement(extensions, f"{{{NS['spiffworkflow']}}}calledDecisionId").text = \
                task.get(f"{{{NS['camunda']}}}decisionRef")
    return tree


def _spiff_problem(exc: ValidationException, bpmn: dict[str, etree._Element]) -> Problem:
    """SpiffWorkflow's refusal with the line of its element (its exception never has one: it reads a
    ``line_number`` lxml does not set) and its sentence finished where it stops short ("... of type")."""
    reason = str(exc.args[0]) if exc.args else str(exc)
    if reason.rstrip().endswith(" of type"):
        reason = f"{reason.rstrip()} {exc.tag or 'this element'}"
    tree = bpmn.get(exc.file_name)
    found = tree.find(f".//*[@id='{exc.id}']") if tree is not None and exc.id and "'" not in exc.id else None
    line = exc.line_number or (found.sourceline if found is not None else None)
    return Problem(exc.file_name or "(package)", reason, exc.id or None, line)


def payload_schemas(settings: dict) -> dict:
    """The message payload schemas a version holds, by file name (part of what makes it the same version)."""
    return {m["payload_schema"]: m["schema"] for m in settings.get("messages", {}).values() if m.get("schema")}


DIARIES = ("food", "exercise")


def _task_meta(processes: dict, forms: Callable[[str], bytes | None], pages: set[str]) -> tuple[dict, dict]:
    """Each task's metadata and the forms they use; content pages, diaries and measurement fields are checked."""
    meta, used, problems = {}, {}, []
    for filename, process in processes.values():
        meta.update(timer_events(process))
        for m, node in human_tasks(process):
            meta[m.id] = m.as_dict()
            if m.form == camunda_form_name(m.id):
                used[m.form] = camunda_form_schema(node)
            for name in (m.form, m.ui_form):
                if name and name not in used:
                    used[name] = json.loads(forms(name))
            problems += [Problem(filename, reason, m.id, m.line) for reason in _task_problems(m, used, pages)]
    if problems:
        raise PackageInvalid(problems)
    return meta, {name: plausible(form) if isinstance(form, dict) and form.get("type") == "object" else form
                  for name, form in used.items()}


def _task_problems(m, forms: dict, pages: set[str]) -> list[str]:
    found = []
    if m.content and m.content not in pages:
        found.append(f"content page '{m.content}' is not a Markdown file of the package")
    if m.content and m.kind != "manualTask":
        found.append("a content page is shown by a manual task (bpmn:manualTask)")
    if m.diary and m.diary not in DIARIES:
        found.append(f"diary must be one of {', '.join(DIARIES)}, not '{m.diary}'")
    if m.diary and not m.form:
        found.append("a diary task needs a form for its entries")
    if m.form and isinstance(forms.get(m.form), dict):
        reasons = field_problems(forms[m.form]) + score_problems(forms[m.form])
        found += [f"form '{m.form}': {reason}" for reason in reasons]
    return found
