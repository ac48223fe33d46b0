"""Helpers several test modules share: reading pages, uploading and deploying pathways, answering consent."""

import io
import json
import re
from datetime import timedelta

from sqlalchemy import func, select

from orchestrator.clock import CLOCK
from orchestrator.core import firing
from orchestrator.extensions import db
from orchestrator.models import HumanTask, PathwayVersion
from orchestrator.tools import deploy

from .conftest import ROOT

SAMPLE = (ROOT / "bpmn" / "esitieto" / "esitieto.bpmn").read_text()
DMN = (ROOT / "bpmn" / "esitieto" / "kiireellisyys.dmn").read_bytes()
CONSENT = (ROOT / "bpmn" / "esitieto" / "suostumus.md").read_bytes()
LAB = (ROOT / "bpmn" / "esitieto" / "laboratoriotulos.json").read_bytes()  # lab_result_ready's payloadSchema
PROPERTIES = '<spiffworkflow:property name="duration" value="P4W" />'


def text(response) -> str:
    """A page's HTML with its whitespace runs made single spaces, to look for phrases in."""
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


# --------------------------------------------------------------------------- deploying


def upload(api, files: dict[str, bytes], key="testi"):
    """Files posted to the deploy API as a designer would."""
    data = {"files": [(io.BytesIO(content), name) for name, content in files.items()]}
    return api.client.post(f"/api/v1/pathways/{key}/versions", data=data, content_type="multipart/form-data",
                           headers={"X-Polku-Actor": "suunnittelija"})


def stored_versions() -> int:
    """Pathway versions in the database (a refused upload leaves none)."""
    return db.session.scalar(select(func.count()).select_from(PathwayVersion))


def assert_rejected(response, *fragments, element=None, status=422):
    """Refused, naming each fragment (and the element), with nothing stored: needs an app context."""
    assert response.status_code == status, response.json
    found = json.dumps(response.json, ensure_ascii=False)
    for fragment in fragments:
        assert fragment in found, found
    if element is not None:
        assert any(p.get("element") == element for p in response.json["errors"]), response.json
    assert stored_versions() == 0


def deploy_bpmn(key: str, bpmn: str) -> PathwayVersion:
    """A pathway of one BPMN file, deployed."""
    package = deploy.from_files({f"{key}.bpmn": bpmn.encode()}, key, ROOT / "forms")
    return deploy.deploy([package], "tester")[0].version


def sample_without_consent(key: str = "esitieto"):
    """The sample pathway without its consent page, so that it starts through the API at once."""
    without = SAMPLE.replace(CONSENT_PROPERTY, "")
    assert without != SAMPLE
    files = {"esitieto.bpmn": without.encode(), "kiireellisyys.dmn": DMN, "suostumus.md": CONSENT,
             "laboratoriotulos.json": LAB}
    return deploy.deploy([deploy.from_files(files, key, ROOT / "forms")], "tester")[0]


def deploy_all() -> None:
    """The four pathways of bpmn/, deployed."""
    deploy.deploy(deploy.packages_in(ROOT / "bpmn", ROOT / "forms"), "tester")


CONSENT_PROPERTY = '<spiffworkflow:property name="consent" value="suostumus.md" />'


def package(extra: str = "", replace: tuple[str, str] | None = None, files: dict | None = None, consent: bool = True):
    """The sample package as "asetukset", with ``extra`` process properties, one text replaced, files added,
    without its consent page unless ``consent``."""
    bpmn = SAMPLE.replace(PROPERTIES, PROPERTIES + extra)
    if not consent:
        bpmn = bpmn.replace(CONSENT_PROPERTY, "")
    if replace:
        assert replace[0] in bpmn
        bpmn = bpmn.replace(*replace)
    parts = {"esitieto.bpmn": bpmn.encode(), "kiireellisyys.dmn": DMN, "suostumus.md": CONSENT,
             "laboratoriotulos.json": LAB, **(files or {})}
    return deploy.from_files({k: v for k, v in parts.items() if v is not None}, "asetukset", ROOT / "forms")


def with_kind(kind: str, pid: str = "omahoito", consent: bool = False) -> bytes:
    """The sample pathway (a client lane and a nurse lane) declared as ``kind``, asking consent or not."""
    declared = SAMPLE.replace('name="pathwayKind" value="professional"', f'name="pathwayKind" value="{kind}"')
    if not consent:
        declared = declared.replace('<spiffworkflow:property name="consent" value="suostumus.md" />', "")
    if kind == "self-care":  # a self-care pathway has no messages, so no service promise
        declared = declared.replace('<spiffworkflow:property name="replyWithinWorkingDays" value="2" />', "")
        declared = declared.replace('<spiffworkflow:property name="messageTeam" value="Hoitaja" />', "")
    assert declared.count(f'value="{kind}"') == 1
    return (declared.replace('<bpmn:process id="esitietopolku" name="Esitiedot ennen vastaanottoa"',
                             f'<bpmn:process id="{pid}" name="Oma esitietopolku"')
            .replace('bpmnElement="esitietopolku"', f'bpmnElement="{pid}"').encode())


def deploy_kind(kind: str, key: str = "omahoito", consent: bool = False) -> PathwayVersion:
    """The sample pathway, as ``kind``, deployed under ``key``."""
    package = deploy.from_files({f"{key}.bpmn": with_kind(kind, consent=consent), "kiireellisyys.dmn": DMN,
                                 "suostumus.md": CONSENT, "laboratoriotulos.json": LAB}, key, ROOT / "forms")
    return deploy.deploy([package], "tester")[0].version


# --------------------------------------------------------------------------- answering


def consent(web, url: str, answer: str | None):
    """Answer a consent page as a client does: to the wording the page showed."""
    shown = re.search(r'name="text" value="([0-9a-f]{64})"', web.get(url).get_data(as_text=True))
    return web.post(url, {"text": shown.group(1) if shown else "", **({"answer": answer} if answer else {})})


def open_task(instance_id: int, spec: str) -> HumanTask | None:
    """The instance's open task of ``spec``, read afresh."""
    db.session.rollback()
    return db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.spec == spec,
                                                      HumanTask.state == "open")).first()


def until_open(instance_id: int, spec: str, within: timedelta = timedelta(days=8)) -> HumanTask:
    """Move the stopped clock from one due timer to the next (as the scheduler wakes) until the task opens."""
    limit = CLOCK.now() + within
    while (task := open_task(instance_id, spec)) is None:
        wake(limit, f"{spec} did not open by {limit}")
    return task


def wake(limit, why: str) -> None:
    """Move the stopped clock to the next due timer (no later than ``limit``, else fail saying ``why``) and fire
    what falls due, as the scheduler wakes."""
    due = firing.next_due()
    assert due is not None and due <= limit, why
    CLOCK.set(due + timedelta(milliseconds=1))
    firing.fire_due()
    firing.end_overdue()
