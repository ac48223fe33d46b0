"""What Polku needs to know of each human task, read from both modeller dialects.

SpiffArena writes ``spiffworkflow:`` extensions; Camunda Modeler writes ``camunda:`` ones, whose
``candidateGroups``/``assignee`` SpiffWorkflow ignores. We read both from the XML ourselves so the
rest of the app sees one shape: :class:`TaskMeta`.
"""

from dataclasses import asdict, dataclass, field

from lxml import etree

from .timers import KINDS
from .xml import NS

HUMAN_TAGS = ("userTask", "manualTask", "task")  # SpiffWorkflow waits for a person at a plain task too
NOTIFYING_TAGS = ("intermediateThrowEvent", "endEvent", "scriptTask", "businessRuleTask")
ROUTINE, MAX_SUMMARY = 50, 500  # a task's priority unless written; the longest inbox line's template
CAMUNDA_TYPES = {"long": "integer", "string": "string", "boolean": "boolean", "date": "string", "enum": "string"}


@dataclass
class TaskMeta:
    id: str
    title: str
    kind: str
    lane: str | None = None
    candidate_groups: list[str] = field(default_factory=list)
    assignee: str | None = None
    form: str | None = None
    ui_form: str | None = None
    instructions: str | None = None
    due_in: str | None = None
    content: str | None = None  # a manual task's Markdown page in the package
    diary: str | None = None  # a user task taking repeated entries: food or exercise
    planned: str | None = None  # how many times the pathway plans the task (a series of readings), as written
    within: list[str] = field(default_factory=list)  # the subprocesses it is in, innermost first
    priority: str | None = None  # 0–100 as Camunda's task priority, higher first in the inbox (50 unless written)
    summary: str | None = None  # one line for the inbox row, with process variables ({{ systolinen }})
    line: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def priority_of(written: str | None) -> int | None:
    """A task's priority as written (none: routine, 50), or ``None`` when it is no whole number 0–100."""
    if written is None:
        return ROUTINE
    text = written.strip()
    return int(text) if text.isdigit() and int(text) <= 100 else None


def lanes_by_node(process: etree._Element) -> dict[str, str]:
    """Map each flow node id to the name of the innermost lane that lists it.

    A node inside a subprocess that no lane lists is in its subprocess's lane: modellers list only
    the subprocess itself in a lane.
    """
    result: dict[str, str] = {}
    for lane in process.iterfind(".//bpmn:lane", NS):
        name = lane.get("name") or lane.get("id")
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            if ref.text:
                result[ref.text.strip()] = name  # later (nested) lanes overwrite outer ones
    for sub in process.iterfind(".//bpmn:subProcess", NS):  # document order: outer subprocesses first
        lane = result.get(sub.get("id"))
        for node in sub:
            if lane and node.get("id") and node.get("id") not in result:
                result[node.get("id")] = lane
    return result


def _spiff_properties(node: etree._Element) -> dict[str, str]:
    props = node.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)
    return {p.get("name"): p.get("value") for p in props}


def _camunda_properties(node: etree._Element) -> dict[str, str]:
    props = node.iterfind("bpmn:extensionElements/camunda:properties/camunda:property", NS)
    return {p.get("name"): p.get("value") for p in props}


def _text(node: etree._Element, path: str) -> str | None:
    found = node.find(path, NS)
    return found.text.strip() if found is not None and found.text and found.text.strip() else None


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _form_key(value: str | None) -> str | None:
    """Camunda form keys come as plain names or with a prefix such as ``deployment:``."""
    if not value:
        return None
    return value.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def task_meta(node: etree._Element, lane: str | None) -> TaskMeta:
    spiff = _spiff_properties(node)
    camunda = _camunda_properties(node)
    camunda_attr = lambda name: node.get(f"{{{NS['camunda']}}}{name}")  # noqa: E731
    form = spiff.get("formJsonSchemaFilename") or _form_key(camunda_attr("formKey"))
    if form is None and node.find("bpmn:extensionElements/camunda:formData", NS) is not None:
        form = camunda_form_name(node.get("id"))
    return TaskMeta(
        id=node.get("id"),
        title=node.get("name") or node.get("id"),
        kind=etree.QName(node).localname,
        lane=lane,
        candidate_groups=_split(camunda_attr("candidateGroups") or spiff.get("candidateGroups")),
        assignee=camunda_attr("assignee") or spiff.get("assignee"),
        form=form,
        ui_form=spiff.get("formUiSchemaFilename"),
        instructions=_text(node, "bpmn:extensionElements/spiffworkflow:instructionsForEndUser")
        or _text(node, "bpmn:documentation"),
        due_in=spiff.get("dueIn") or camunda.get("dueIn") or camunda_attr("dueDate"),
        content=spiff.get("content") or camunda.get("content"),
        diary=spiff.get("diary") or camunda.get("diary"),
        planned=spiff.get("planned") or camunda.get("planned"),
        within=[p.get("id") for p in node.iterancestors(f"{{{NS['bpmn']}}}subProcess")],
        priority=camunda_attr("priority") or spiff.get("priority") or camunda.get("priority"),
        summary=spiff.get("summary") or camunda.get("summary"),
        line=node.sourceline,
    )


def camunda_form_name(task_id: str) -> str:
    return f"{task_id}.camunda-form.json"


def camunda_form_schema(node: etree._Element) -> dict:
    """Turn ``camunda:formField`` definitions into the JSON Schema the rest of Polku uses."""
    properties: dict[str, dict] = {}
    required: list[str] = []
    for fld in node.iterfind("bpmn:extensionElements/camunda:formData/camunda:formField", NS):
        name, ftype = fld.get("id"), fld.get("type") or "string"
        prop: dict = {"type": CAMUNDA_TYPES.get(ftype, "string"), "title": fld.get("label") or name}
        if ftype == "date":
            prop["format"] = "date"
        values = [(v.get("id"), v.get("name")) for v in fld.iterfind("camunda:value", NS)]
        if values:
            prop["oneOf"] = [{"const": vid, "title": vname or vid} for vid, vname in values]
        for con in fld.iterfind("camunda:validation/camunda:constraint", NS):
            _apply_constraint(prop, con.get("name"), con.get("config"), required, name)
        properties[name] = prop
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "title": node.get("name") or node.get("id"),
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _apply_constraint(prop: dict, kind: str, config: str | None, required: list[str], name: str) -> None:
    numeric = prop["type"] in ("integer", "number")
    keys = {"min": "minimum" if numeric else "minLength", "max": "maximum" if numeric else "maxLength",
            "minlength": "minLength", "maxlength": "maxLength"}
    if kind == "required":
        required.append(name)
    elif kind in keys and config is not None:
        try:
            prop[keys[kind]] = int(config) if not numeric or config.lstrip("-").isdigit() else float(config)
        except ValueError:
            prop[keys[kind]] = config  # left for schema validation to report
    elif kind == "readonly":
        prop["readOnly"] = True


def timer_events(process: etree._Element) -> dict[str, dict]:
    """Every timer event of a process, and every event that tells someone something when it is reached.

    A timer carries its kind, the task it is attached to, a reminder to send and a description: what
    its firing means to the people on the pathway ("Iltamittaus alkaa"), from its documentation or
    else its name. A timer with a ``reminder`` property (either dialect) sends that text, a template
    over the process's variables, to the people of its lane each time it fires. Any other event with
    a ``notify`` property sends that text, likewise, each time the process passes it (the meaning of
    a reading, say, told to the client at once).
    """
    lanes = lanes_by_node(process)
    found = {}
    for definition in process.iterfind(".//bpmn:timerEventDefinition", NS):
        node = definition.getparent()
        kinds = [KINDS[etree.QName(c).localname] for c in definition if etree.QName(c).localname in KINDS]
        properties = {**_camunda_properties(node), **_spiff_properties(node)}
        attached = node.get("attachedToRef")
        found[node.get("id")] = {
            "id": node.get("id"), "title": node.get("name") or node.get("id"), "kind": "timer",
            "timer_kind": kinds[0] if kinds else None, "attached_to": attached,
            "interrupting": attached is not None and node.get("cancelActivity", "true") != "false",
            "lane": lanes.get(node.get("id")) or lanes.get(attached or ""),
            "description": _text(node, "bpmn:documentation") or node.get("name"),
            "reminder": properties.get("reminder"), "line": node.sourceline,
        }
    for tag in NOTIFYING_TAGS:
        for node in process.iterfind(f".//bpmn:{tag}", NS):
            notify = {**_camunda_properties(node), **_spiff_properties(node)}.get("notify")
            if notify and node.get("id") not in found:
                found[node.get("id")] = {"id": node.get("id"), "title": node.get("name") or node.get("id"),
                                         "kind": "notice", "lane": lanes.get(node.get("id")), "notify": notify,
                                         "line": node.sourceline}
    return found


def process_properties(process: etree._Element) -> dict[str, str]:
    return {**_camunda_properties(process), **_spiff_properties(process)}


def human_tasks(process: etree._Element) -> list[tuple[TaskMeta, etree._Element]]:
    """Every user/manual task of a process (including nested subprocesses) with its node."""
    lanes = lanes_by_node(process)
    found = []
    for tag in HUMAN_TAGS:
        for node in process.iterfind(f".//bpmn:{tag}", NS):
            found.append((task_meta(node, lanes.get(node.get("id"))), node))
    return found
