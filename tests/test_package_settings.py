"""A pathway's own settings and content pages are read at deploy, and each wrong one is named."""

import json

import pytest

from orchestrator.engine import PackageInvalid
from orchestrator.tools import deploy

from .conftest import ROOT
from .helpers import CONSENT, DMN, LAB, PROPERTIES, package


def problems_of(pkg) -> list[str]:
    with pytest.raises(PackageInvalid) as refused:
        deploy.deploy([pkg], "tester")
    return [f"{p.file} [{p.element}]: {p.reason}" for p in refused.value.problems]


def test_the_settings_are_stored_with_the_version(ctx):
    extra = ('<spiffworkflow:property name="phases" value="P0D Aloitus; P1W Seuranta" />'
             '<spiffworkflow:property name="module:ruokapaivakirja" value="Ruokapäiväkirja" />'
             '<spiffworkflow:property name="target:systolic" value="90-135" />'
             '<spiffworkflow:property name="measurements" value="weight, systolic" />')
    version = deploy.deploy([package(extra)], "tester")[0].version
    assert version.settings == {
        "duration": "P4W", "consent": "suostumus.md", "message_team": "Hoitaja", "reply_within_working_days": 2,
        "phases": [{"offset": "P0D", "name": "Aloitus"}, {"offset": "P1W", "name": "Seuranta"}],
        "modules": {"ruokapaivakirja": "Ruokapäiväkirja"}, "targets": {"systolic": [90.0, 135.0]},
        "measurements": ["weight", "systolic"], "goals": {},
        "messages": {"lab_result_ready": {"payload_schema": "laboratoriotulos.json", "schema": json.loads(LAB),
                                          "leads_to": ["tulosten_arvio"]}}}
    assert version.content == {"suostumus.md": CONSENT.decode()}


@pytest.mark.parametrize(("extra", "replace", "files", "reason"), [
    ("", (PROPERTIES, '<spiffworkflow:property name="duration" value="12 viikkoa" />'), None,
     "duration '12 viikkoa' is not an ISO-8601 duration"),
    ("", None, {"suostumus.md": None}, "consent page 'suostumus.md' is not a Markdown file of the package"),
    ("", ('name="replyWithinWorkingDays" value="2"', 'name="replyWithinWorkingDays" value="kaksi"'), None,
     "replyWithinWorkingDays must be a whole number of working days (1–30), not 'kaksi'"),
    ('<spiffworkflow:property name="phases" value="Aloitus P0D" />', None, None,
     "phases: 'Aloitus P0D' is not '<ISO-8601 offset> <name>'"),
    ('<spiffworkflow:property name="module:Ruoka-päiväkirja" value="Ruoka" />', None, None,
     "module 'Ruoka-päiväkirja' must be a lower-case variable name"),
    ('<spiffworkflow:property name="target:systolic" value="135-90" />', None, None,
     "target:systolic must be a range such as '90-135', not '135-90'"),
    ('<spiffworkflow:property name="target:pulse" value="50-90" />', None, None,
     "target:pulse: 'pulse' is not one of weight, waist, glucose, systolic, diastolic"),
    ('<spiffworkflow:property name="measurements" value="weight,height" />', None, None,
     "measurements: 'height' is not one of"),
    ("", None, {"suostumus.md": b"\xff\xfe ei UTF-8"}, "a content page must be UTF-8 text"),
])
def test_a_wrong_setting_is_named_with_its_file_and_process(ctx, extra, replace, files, reason):
    found = problems_of(package(extra, replace, files))
    assert any(p.startswith("asetukset/esitieto.bpmn [esitietopolku]") or p.startswith("asetukset/suostumus.md")
               for p in found), found
    assert any(reason in p for p in found), found


def test_a_self_care_pathway_has_no_service_promise(ctx):
    kind = 'name="pathwayKind" value="professional"'
    found = problems_of(package(replace=(kind, kind.replace("professional", "self-care"))))
    assert any("a self-care pathway has no messages, so no replyWithinWorkingDays" in p for p in found), found


def test_content_pages_diaries_and_measurement_fields_are_checked_per_task(ctx):
    form = json.loads((ROOT / "forms" / "esitiedot.json").read_text())
    form["properties"]["paino_kg"]["x-measurement"] = "weight"
    form["properties"]["paino_kg"]["maximum"] = 900
    form["properties"]["kipu"]["x-measurement"] = "pain"
    due = '<spiffworkflow:property name="dueIn" value="P7D" />'
    found = problems_of(package(
        replace=(due, due + '<spiffworkflow:property name="diary" value="uni" />'
                            '<spiffworkflow:property name="content" value="puuttuu.md" />'),
        files={"esitiedot.json": json.dumps(form).encode()}))
    where = "asetukset/esitieto.bpmn [esitietolomake]: "
    assert where + "diary must be one of food, exercise, not 'uni'" in found, found
    assert where + "content page 'puuttuu.md' is not a Markdown file of the package" in found, found
    assert where + "a content page is shown by a manual task (bpmn:manualTask)" in found, found
    assert where + "form 'esitiedot.json': field 'paino_kg': weight must lie within 20–350 kg" in found, found
    assert where + ("form 'esitiedot.json': field 'kipu': x-measurement 'pain' is not one of weight, waist, glucose, "
                    "systolic, diastolic") in found, found


def test_measurement_fields_get_their_plausible_range_when_the_form_sets_none(ctx):
    form = json.loads((ROOT / "forms" / "esitiedot.json").read_text())
    form["properties"]["paino_kg"] = {"type": "number", "title": "Paino", "x-measurement": "weight"}
    version = deploy.deploy([package(files={"esitiedot.json": json.dumps(form).encode()})], "tester")[0].version
    assert version.forms["esitiedot.json"]["properties"]["paino_kg"] == {
        "minimum": 20, "maximum": 350, "type": "number", "title": "Paino", "x-measurement": "weight"}


def test_a_node_inside_a_subprocess_is_in_the_subprocess_s_lane():
    from lxml import etree

    from orchestrator.engine.metadata import lanes_by_node
    from orchestrator.engine.xml import NS
    bpmn = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="p">'
            '<bpmn:laneSet><bpmn:lane id="l1" name="Asiakas"><bpmn:flowNodeRef>jakso</bpmn:flowNodeRef></bpmn:lane>'
            '<bpmn:lane id="l2" name="Hoitaja"><bpmn:flowNodeRef>arvio</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>'
            '<bpmn:subProcess id="jakso"><bpmn:userTask id="mittaus"/><bpmn:subProcess id="sisempi">'
            '<bpmn:userTask id="syvalla"/></bpmn:subProcess><bpmn:userTask id="arvio"/></bpmn:subProcess>'
            '</bpmn:process></bpmn:definitions>')
    process = etree.fromstring(bpmn.encode()).find("bpmn:process", NS)
    assert lanes_by_node(process) == {"jakso": "Asiakas", "mittaus": "Asiakas", "sisempi": "Asiakas",
                                      "syvalla": "Asiakas", "arvio": "Hoitaja"}  # a lane of its own wins


def test_a_dmn_file_with_two_decisions_is_named(ctx):
    two = DMN.replace(b"</definitions>", DMN[DMN.index(b"<decision "):DMN.index(b"</decision>") + 11]
                      .replace(b'id="kiireellisyys"', b'id="toinen"').replace(b'id="DecisionTable_kiireellisyys"',
                                                                         b'id="DecisionTable_toinen"')
                      + b"</definitions>")
    found = problems_of(package(files={"kiireellisyys.dmn": two}))
    assert ("asetukset/kiireellisyys.dmn [None]: SpiffWorkflow reads one decision per DMN file: put each decision "
            "in a file of its own") in found, found


@pytest.mark.parametrize(("extra", "reason"), [
    ('<spiffworkflow:property name="phases" value="P1W Seuranta; P0D Aloitus" />',
     "phases must be listed in the order they begin"),
    ('<spiffworkflow:property name="replyWithinWorkingDays" value="²" />', "replyWithinWorkingDays must be a whole"),
])
def test_phases_out_of_order_and_odd_digits_are_named(ctx, extra, reason):
    found = problems_of(package(extra, replace=('<spiffworkflow:property name="replyWithinWorkingDays" value="2" />',
                                                "")))
    assert any(reason in p for p in found), found


def test_a_pathway_says_the_language_its_texts_are_in(ctx):
    from flask import current_app

    from orchestrator.engine.settings import LANGUAGES

    version = deploy.deploy([package('<spiffworkflow:property name="language" value="sv" />')], "tester")[0].version
    assert version.settings["language"] == "sv"
    assert tuple(current_app.config["POLKU_LANGUAGES"]) == LANGUAGES, "the languages the service speaks"
    unsaid = deploy.deploy([package()], "tester")[0].version
    assert "language" not in unsaid.settings


@pytest.mark.parametrize("tag", ["de", "SV", "fi-FI", ""])
def test_a_language_the_service_does_not_speak_is_named(ctx, tag):
    found = problems_of(package(f'<spiffworkflow:property name="language" value="{tag}" />'))
    assert f"asetukset/esitieto.bpmn [esitietopolku]: language '{tag}' is not one of fi, sv, en" in found, found


def test_a_pathway_s_text_carries_its_language_only_on_a_page_in_another(app, ctx):
    from flask_babel import force_locale

    from orchestrator.web.filters import content_lang, pathway_language

    version = deploy.deploy([package('<spiffworkflow:property name="language" value="sv" />')], "tester")[0].version
    assert pathway_language(version) == "sv" and pathway_language(None) == "fi"
    with app.test_request_context("/"):
        with force_locale("sv"):
            assert content_lang(version) == ""
            assert content_lang() == ' lang="fi"'
        with force_locale("fi"):
            assert content_lang(version) == ' lang="sv"'
            assert content_lang() == ""
