"""Deployment: every bad input is a 4xx naming file, element, line and reason; nothing is stored."""

import io
import json
import zipfile

import pytest
from sqlalchemy import func, select

from orchestrator.extensions import db
from orchestrator.models import Pathway

from .conftest import ROOT
from .fixtures.builders import BILLION_LAUGHS, CAMUNDA_TASK, process_bpmn, spiff_form, xxe
from .helpers import assert_rejected, stored_versions, upload

FORM = json.dumps({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                   "properties": {"arvo": {"type": "integer"}}}).encode()


def upload_zip(api, archive: bytes, key="testi"):
    return api.client.post(f"/api/v1/pathways/{key}/versions", data={"package": (io.BytesIO(archive), "p.zip")},
                           content_type="multipart/form-data", headers={"X-Polku-Actor": "suunnittelija"})


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_upload_deploys_and_redeploy_is_a_no_op(api):
    files = {"testi.bpmn": process_bpmn(task_extra=spiff_form("arvo.json")).encode(), "arvo.json": FORM}
    first = upload(api, files)
    assert first.status_code == 201, first.json
    assert first.json == {"pathway": "testi", "version": 1, "created": True}
    again = upload(api, files)
    assert again.status_code == 200 and again.json["created"] is False
    changed = upload(api, {**files, "testi.bpmn": process_bpmn(task_extra=spiff_form("arvo.json"),
                                                                condition="arvo > 1").encode()})
    assert changed.status_code == 201 and changed.json["version"] == 2
    detail = api.get("/api/v1/pathways/testi").json
    assert [v["number"] for v in detail["versions"]] == [1, 2]
    assert detail["versions"][0]["deployed_by"] == "suunnittelija"


def test_zip_upload(api):
    archive = zipped({"kansio/testi.bpmn": process_bpmn(task_extra=spiff_form("arvo.json")).encode(),
                      "kansio/arvo.json": FORM})
    response = upload_zip(api, archive, key="zip-polku")
    assert response.status_code == 201, response.json
    version = api.get("/api/v1/pathways/zip-polku/versions/1").json
    assert version["forms"]["arvo.json"]["properties"]["arvo"]["type"] == "integer"
    assert version["task_meta"]["tehtava"]["form"] == "arvo.json"


def test_changed_form_makes_a_new_version_and_running_instances_keep_theirs(api):
    files = {"testi.bpmn": process_bpmn(task_extra=spiff_form("arvo.json")).encode(), "arvo.json": FORM}
    assert upload(api, files).status_code == 201
    instance = api.start("testi")
    changed_form = json.loads(FORM) | {"required": ["arvo"]}
    assert upload(api, {**files, "arvo.json": json.dumps(changed_form).encode()}).json["version"] == 2
    assert api.get(f"/api/v1/instances/{instance['id']}").json["version"] == 1
    task = instance["tasks"][0]
    assert api.complete(task["id"], {}).status_code == 200  # version 1's form had no required field
    assert api.start("testi")["version"] == 2


def test_malformed_xml(api, ctx):
    response = upload(api, {"rikki.bpmn": b"<bpmn:definitions><oops></bpmn:definitions>"})
    assert_rejected(response, "rikki.bpmn", "not well-formed XML")
    assert response.json["errors"][0]["line"] == 1


def test_unsupported_complex_gateway(api, ctx):
    response = upload(api, {"testi.bpmn": process_bpmn(gateway="complexGateway").encode()})
    assert_rejected(response, "complex gateways are not supported", element="valinta")
    assert response.json["errors"][0]["line"] > 1


def test_missing_form_file(api, ctx):
    response = upload(api, {"testi.bpmn": process_bpmn(task_extra=spiff_form("puuttuu.json")).encode()})
    assert_rejected(response, "form file 'puuttuu.json' not found", element="tehtava")


def test_form_that_is_not_json_schema(api, ctx):
    bad = json.dumps({"type": "object", "properties": {"x": {"type": "kokonaisluku"}}}).encode()
    response = upload(api, {"testi.bpmn": process_bpmn(task_extra=spiff_form("huono.json")).encode(),
                            "huono.json": bad})
    assert_rejected(response, "not a valid JSON Schema", element="tehtava")


@pytest.mark.parametrize("expression, kind, reason", [
    ('"P3X"', "timeDuration", "not an ISO-8601 duration"),
    ("P3D", "timeDuration", 'needs quotes to be a duration: write \\"P3D\\"'),
    ('"P3D', "timeDuration", "does not compile"),
    ('"huomenna"', "timeDate", "not an ISO-8601 date-time"),
    ('"R3/X"', "timeCycle", "not an ISO-8601 cycle"),
    ("3", "timeDuration", "must be an ISO-8601 string"),
])
def test_invalid_timer_expression(api, expression, kind, reason, ctx):
    response = upload(api, {"testi.bpmn": process_bpmn(timer=expression, timer_kind=kind).encode()})
    assert_rejected(response, reason, element="muistutus")


@pytest.mark.parametrize("expression, kind", [
    ('"P3D"', "timeDuration"), ('"2026-12-01T09:00:00+02:00"', "timeDate"), ('"R3/P1D"', "timeCycle"),
    ("muistutusvali", "timeDuration"),  # on a process variable: checked when evaluated
])
def test_valid_timer_expressions(api, expression, kind):
    assert upload(api, {"testi.bpmn": process_bpmn(timer=expression, timer_kind=kind).encode()}).status_code == 201


def test_condition_that_does_not_compile(api, ctx):
    response = upload(api, {"testi.bpmn": process_bpmn(condition="arvo >").encode()})
    assert_rejected(response, "condition does not compile", element="f_ehto")


def test_no_start_event(api, ctx):
    response = upload(api, {"testi.bpmn": process_bpmn(start=False).encode()})
    assert_rejected(response, "no start event", element="testi")


def test_missing_decision(api, ctx):
    rule = ('<bpmn:businessRuleTask id="saanto"><bpmn:extensionElements><spiffworkflow:calledDecisionId>'
            'puuttuva</spiffworkflow:calledDecisionId></bpmn:extensionElements></bpmn:businessRuleTask>')
    response = upload(api, {"testi.bpmn": process_bpmn(extra=rule).encode()})
    assert_rejected(response, "decision 'puuttuva' is not in any DMN file", element="saanto")


def test_missing_called_process(api, ctx):
    call = '<bpmn:callActivity id="kutsu" calledElement="muu_prosessi"/>'
    response = upload(api, {"testi.bpmn": process_bpmn(extra=call).encode()})
    assert_rejected(response, "calls process 'muu_prosessi'", element="kutsu")


def test_xxe_file_read_attempt_is_refused(api, tmp_path, ctx):
    secret = tmp_path / "salaisuus.txt"
    secret.write_text("HETU-010101-123N")
    response = upload(api, {"xxe.bpmn": xxe(str(secret)).encode()})
    assert_rejected(response, "DOCTYPE declaration is not allowed")
    assert "HETU" not in response.get_data(as_text=True)


def test_billion_laughs_is_refused_quickly(api, ctx):
    response = upload(api, {"lol.bpmn": BILLION_LAUGHS.encode()})
    assert_rejected(response, "lol.bpmn")
    assert len(response.get_data()) < 5000


def test_fifty_megabyte_upload_is_refused_and_server_keeps_working(api, ctx):
    boundary = "rajaraja"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="iso.bpmn"\r\n\r\n').encode()
    body += b"<x>" + b"a" * (50 * 1024 * 1024) + f"</x>\r\n--{boundary}--\r\n".encode()
    response = api.client.post("/api/v1/pathways/iso/versions", data=body, headers={"X-Polku-Actor": "tester"},
                               content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert response.is_json and "code" in response.json
    assert stored_versions() == 0
    assert api.get("/api/v1/pathways").status_code == 200


def test_zip_bomb_is_refused(api, ctx):
    bomb = zipped({f"f{i}.json": b"0" * (3 * 1024 * 1024) for i in range(8)})
    response = upload_zip(api, bomb, key="pommi")
    assert_rejected(response, "unpacks to more than")


def test_every_problem_is_reported_at_once(api):
    bpmn = process_bpmn(timer='"P3X"', gateway="complexGateway", task_extra=spiff_form("puuttuu.json"))
    response = upload(api, {"testi.bpmn": bpmn.encode(), "rikki.dmn": b"<dmn"})
    reasons = " ".join(p["reason"] for p in response.json["errors"])
    assert response.status_code == 422
    assert "not well-formed" in reasons
    response = upload(api, {"testi.bpmn": bpmn.encode()})
    reasons = " ".join(p["reason"] for p in response.json["errors"])
    for fragment in ("complex gateways", "ISO-8601 duration", "puuttuu.json"):
        assert fragment in reasons


def test_bad_key_and_other_files(api, ctx):
    assert upload(api, {"testi.bpmn": process_bpmn().encode()}, key="Iso Kirjain").status_code == 422
    assert_rejected(upload(api, {"testi.bpmn": process_bpmn().encode(), "x.exe": b"MZ"}), "x.exe")


def test_camunda_dialect(api):
    bpmn = process_bpmn().replace('<bpmn:userTask id="tehtava" name="Tehtävä"></bpmn:userTask>', CAMUNDA_TASK)
    response = upload(api, {"camunda.bpmn": bpmn.encode()}, key="camunda")
    assert response.status_code == 201, response.json
    instance = api.start("camunda")
    (task,) = instance["tasks"]
    assert task["candidate_groups"] == ["hoitajat", "laakarit"]
    assert task["assignee"] == "hoitaja1"
    assert task["role"] == "hoitajat" and task["audience"] == "professional"
    assert task["instructions"] == "Mittaa verenpaine aamulla."
    assert task["due_at"] is not None
    detail = api.get(f"/api/v1/tasks/{task['id']}").json
    schema = detail["form_schema"]
    assert schema["required"] == ["systolinen"]
    assert schema["properties"]["systolinen"] == {"type": "integer", "title": "Yläpaine (mmHg)",
                                                   "minimum": 50, "maximum": 260}
    assert [o["const"] for o in schema["properties"]["asento"]["oneOf"]] == ["istuen", "maaten"]
    bad = api.complete(task["id"], {"systolinen": 300})
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "/systolinen"
    assert api.complete(task["id"], {"systolinen": 128, "asento": "istuen"}).status_code == 200


def test_cli_deploys_the_sample_folder_and_reports_errors(app, runner, package_dir):
    result = runner.invoke(args=["deploy", str(ROOT / "bpmn")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    samples = ("diabetesriski", "esitieto", "painonhallinta", "verenpaine")
    for key in samples:
        assert f"{key}: deployed as version 1" in result.output
    result = runner.invoke(args=["deploy", str(ROOT / "bpmn")])
    for key in samples:
        assert f"{key}: unchanged at version 1" in result.output
    folder, forms = package_dir
    (forms / "kuittaus.json").unlink()
    app.config["POLKU_FORMS_DIR"] = forms
    result = runner.invoke(args=["deploy", str(folder.parent)])
    assert result.exit_code == 1
    assert "esitieto/esitieto.bpmn" in result.output and "kuittaus.json' not found" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Pathway)) == len(samples)  # nothing more stored


def test_unreadable_zip_members_are_refused(api, ctx):
    archive = bytearray(zipped({"testi.bpmn": process_bpmn().encode() * 3}))
    start = archive.index(b"testi.bpmn") + len("testi.bpmn")
    archive[start + 5:start + 25] = b"\xff" * 20  # corrupt the compressed data
    response = upload_zip(api, bytes(archive))
    assert_rejected(response, "testi.bpmn", "cannot be read from the archive")


def test_zip_with_other_files_or_twice_the_same_name_is_refused(api, ctx):
    for files, reason in (({"a/testi.bpmn": process_bpmn().encode(), "b/testi.bpmn": process_bpmn().encode()},
                           "a second file named testi.bpmn"),
                          ({"testi.bpmn": process_bpmn().encode(), "lue.txt": b"x"},
                           "only .bpmn, .dmn, .json (forms) and .md")):
        assert_rejected(upload_zip(api, zipped(files)), reason)
