"""A pathway's own scenarios run at deploy on a simulated clock: a failing one refuses the version naming the
scenario and its first unmet expectation, a passing set records what it covered, the clock of the run is its
own, and the same content is not played twice."""

import io
import json
import shutil
import threading
import zipfile
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from orchestrator import extensions
from orchestrator.clock import CLOCK
from orchestrator.engine import PackageInvalid
from orchestrator.extensions import db
from orchestrator.models import Pathway, PathwayVersion
from orchestrator.tools import deploy, scenarios, simulate

from .conftest import ROOT
from .fixtures.builders import HEAD, TAIL, spiff_form
from .helpers import assert_rejected, upload

SAMPLES = ("diabetesriski", "esitieto", "painonhallinta", "verenpaine")
FORM = json.dumps({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                   "properties": {"arvo": {"type": "integer"}}, "required": ["arvo"]}).encode()


def prop(name: str, value: str) -> str:
    return (f'<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="{name}" '
            f'value="{value}"/></spiffworkflow:properties></bpmn:extensionElements>')


def timer(duration: str) -> str:
    return (f'<bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"{duration}"'
            '</bpmn:timeDuration></bpmn:timerEventDefinition>')


# The client answers a question (reminded after a day, its time ends after three); a script divides by the
# answer; the client is told what she answered; a high answer opens the nurse's review; the pathway ends.
BPMN = HEAD + f"""<bpmn:process id="testi" name="Testi" isExecutable="true">
  {prop("duration", "P10D")}
  <bpmn:laneSet id="kaistat">
    <bpmn:lane id="asiakas" name="Asiakas">{"".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in (
        "alku", "kysely", "muistutus", "muistutettu", "umpeutui", "laske", "kerro", "valinta", "yhdista", "loppu"))}
    </bpmn:lane>
    <bpmn:lane id="hoitaja" name="Hoitaja"><bpmn:flowNodeRef>arvio</bpmn:flowNodeRef></bpmn:lane>
  </bpmn:laneSet>
  <bpmn:startEvent id="alku"/>
  <bpmn:userTask id="kysely" name="Kysely">{spiff_form("arvo.json")}</bpmn:userTask>
  <bpmn:boundaryEvent id="muistutus" attachedToRef="kysely" cancelActivity="false">
    {prop("reminder", "Muista vastata kyselyyn.")}{timer("P1D")}</bpmn:boundaryEvent>
  <bpmn:endEvent id="muistutettu"/>
  <bpmn:boundaryEvent id="umpeutui" attachedToRef="kysely">{timer("P3D")}</bpmn:boundaryEvent>
  <bpmn:scriptTask id="laske"><bpmn:script>osuus = 10 / arvo</bpmn:script></bpmn:scriptTask>
  <bpmn:intermediateThrowEvent id="kerro">{prop("notify", "Kiitos, vastasit {{ arvo }}.")}</bpmn:intermediateThrowEvent>
  <bpmn:exclusiveGateway id="valinta" default="f_tavallinen"/>
  <bpmn:userTask id="arvio" name="Arvio"/>
  <bpmn:exclusiveGateway id="yhdista"/>
  <bpmn:endEvent id="loppu"/>
  <bpmn:sequenceFlow id="f_alku" sourceRef="alku" targetRef="kysely"/>
  <bpmn:sequenceFlow id="f_muistutus" sourceRef="muistutus" targetRef="muistutettu"/>
  <bpmn:sequenceFlow id="f_vastattu" sourceRef="kysely" targetRef="laske"/>
  <bpmn:sequenceFlow id="f_laskettu" sourceRef="laske" targetRef="kerro"/>
  <bpmn:sequenceFlow id="f_kerrottu" sourceRef="kerro" targetRef="valinta"/>
  <bpmn:sequenceFlow id="f_korkea" sourceRef="valinta" targetRef="arvio">
    <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">arvo &gt; 5</bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="f_tavallinen" sourceRef="valinta" targetRef="yhdista"/>
  <bpmn:sequenceFlow id="f_arvioitu" sourceRef="arvio" targetRef="yhdista"/>
  <bpmn:sequenceFlow id="f_umpeutui" sourceRef="umpeutui" targetRef="yhdista"/>
  <bpmn:sequenceFlow id="f_loppu" sourceRef="yhdista" targetRef="loppu"/>
</bpmn:process>
""" + TAIL

# Answered on day 1 at 11:00 after the 09:00 reminder; 7 is high, so the nurse reviews it an hour later.
RUN = {"start": "2026-01-05T09:00", "days": 5, "client_id": "asiakas-1", "tasks": {"kysely": {"arvo": 7}, "arvio": {}},
       "delays": {"kysely": "P1DT2H", "arvio": "PT1H"}}
PASSING = [
    {"opens": "kysely", "times": 1, "at": "09:00", "to": "client", "on_days": [0]},
    {"alert": "arvio", "to": "Hoitaja", "at": "2026-01-06T11:00", "between": ["08:00", "16:00"]},
    {"missed": "kysely", "times": 0},
    {"reminder": "muistutus", "to": "client", "at": "2026-01-06T09:00", "says": "Muista vastata"},
    {"notice": "kerro", "to": "client", "says": "vastasit 7"},
    {"no_client_task_between": ["22:00", "06:00"]},
    {"no_reminder_between": ["21:00", "08:00"]},
    {"ends": "completed", "by": "P2D", "at": "2026-01-06T12:00"},
    {"no_incident": True},
]
FAILING = {  # an expectation that does not hold: the reason deploy gives, and the element it names
    "opens": ({"opens": "kysely", "times": 2},
              "expected task 'kysely' to open 2 times but it opened 1 time (day 0 (Mon 2026-01-05 09:00))", "kysely"),
    "alert": ({"alert": "arvio", "on_days": [2]}, "expected alert 'arvio' to open on days 2 but it opened on days 1",
              "arvio"),
    "missed": ({"missed": "kysely"}, "expected task 'kysely' to be missed but it was missed 0 times", "kysely"),
    "reminder": ({"reminder": "muistutus", "between": ["10:00", "18:00"]}, "expected reminder 'muistutus' to be sent "
                 "between 10:00 and 18:00 but it was sent on day 1 (Tue 2026-01-06 09:00)", "muistutus"),
    "notice": ({"notice": "kerro", "says": "vastasit 8"}, "expected notice 'kerro' to be sent saying \"vastasit 8\" "
               "but it was sent saying \"Kiitos, vastasit 7.\" on day 1 (Tue 2026-01-06 11:00)", "kerro"),
    "no_client_task_between": ({"no_client_task_between": ["08:00", "10:00"]}, "expected no client task between "
                               "08:00 and 10:00 but 'kysely' opened on day 0 (Mon 2026-01-05 09:00)", None),
    "no_reminder_between": ({"no_reminder_between": ["09:00", "09:30"]}, "expected no reminder between 09:00 and "
                            "09:30 but 'muistutus' was sent on day 1 (Tue 2026-01-06 09:00)", None),
    "ends": ({"ends": "completed", "by": "PT12H"}, "expected the pathway to reach its end by PT12H but it reached its "
             "end on day 1 (Tue 2026-01-06 12:00)", None),
    "ends duration": ({"ends": "duration ended"}, "expected the pathway to be ended by its duration but it reached "
                      "its end on day 1 (Tue 2026-01-06 12:00)", None),
    "to": ({"alert": "arvio", "to": "client"}, "expected alert 'arvio' to open for client but it opened for Hoitaja "
           "on day 1 (Tue 2026-01-06 11:00)", "arvio"),
    "at clock": ({"opens": "kysely", "at": ["08:00", "10:00"]}, "expected task 'kysely' to open at 08:00 or 10:00 but "
                 "it opened on day 0 (Mon 2026-01-05 09:00)", "kysely"),
    "at moment": ({"reminder": "muistutus", "at": "2026-01-06T10:00"}, "expected reminder 'muistutus' to be sent at "
                  "Tue 2026-01-06 10:00 but it was sent on day 1 (Tue 2026-01-06 09:00)", "muistutus"),
    "ends at": ({"ends": "completed", "at": "2026-01-06T13:00"}, "expected the pathway to reach its end at Tue "
                "2026-01-06 13:00 but it reached its end on day 1 (Tue 2026-01-06 12:00)", None),
}
# Answered 0: the script divides by it, an incident at "laske" stops the pathway.
INCIDENT = {**RUN, "tasks": {"kysely": {"arvo": 0}}, "delays": {"kysely": "PT1H"}}


def files(**found: dict) -> dict[str, bytes]:
    """The test pathway with scenario files by name (``name`` and ``expect`` filled in where left out)."""
    return {"testi.bpmn": BPMN.encode(), "arvo.json": FORM,
            **{f"{name}.scenario.json": json.dumps({"name": name, **s}).encode() for name, s in found.items()}}


def deployed(files_: dict[str, bytes], key: str = "testi"):
    return deploy.deploy([deploy.from_files(files_, key, ROOT / "forms")], "tester")[0]


def refused(files_: dict[str, bytes]) -> list:
    with pytest.raises(PackageInvalid) as caught:
        deployed(files_)
    assert db.session.scalar(select(func.count()).select_from(Pathway)) == 0  # nothing stored
    return caught.value.problems


@pytest.fixture
def fresh(monkeypatch):
    """No outcome remembered from earlier tests: this test's deploys play their scenarios."""
    monkeypatch.setattr(scenarios, "_MEMO", OrderedDict())


# --------------------------------------------------------------------------- the sample pathways


def test_the_four_sample_pathways_pass_their_scenarios_covering_every_node(ctx):
    results = deploy.deploy(deploy.packages_in(ROOT / "bpmn", ROOT / "forms"), "tester")
    assert sorted(r.pathway.key for r in results) == list(SAMPLES)
    db.session.expire_all()
    for result in results:
        coverage = db.session.get(PathwayVersion, result.version.id).coverage
        assert coverage["nodes"]["covered"] == coverage["nodes"]["all"], result.pathway.key
        assert coverage["flows"]["covered"] == coverage["flows"]["all"], result.pathway.key
        assert len(coverage["scenarios"]) >= 2
        assert {s["file"] for s in coverage["scenarios"]} == \
            {p.name for p in (ROOT / "bpmn" / result.pathway.key).glob("*.scenario.json")}
    esitieto = next(r.version.coverage for r in results if r.pathway.key == "esitieto")
    assert len(esitieto["nodes"]["all"]) == 12 and "muistutus_esitiedot" in esitieto["nodes"]["covered"]
    assert "flow_lab_ei" in esitieto["flows"]["covered"] and "flow_lab_kylla" in esitieto["flows"]["covered"]


def test_each_sample_pathway_checks_its_calendar_at_an_odd_hour_and_across_summer_time():
    found = {key: [json.loads(p.read_text(encoding="utf-8")) for p in (ROOT / "bpmn" / key).glob("*.scenario.json")]
             for key in SAMPLES}
    for key, played in found.items():
        assert any({"no_client_task_between": ["22:00", "06:00"]} in s["expect"] for s in played), key
    starts = [s["start"] for played in found.values() for s in played]
    assert any(start.endswith("T15:41") for start in starts)
    assert "2027-03-22T15:41" in starts  # summer time begins in Helsinki on Sunday 28 March 2027


def test_the_api_and_the_cli_report_the_coverage(app, api, runner, ctx, fresh):
    sample = {p.name: p.read_bytes() for p in (ROOT / "bpmn" / "esitieto").iterdir()}
    spec = extensions.api.spec
    response = upload(api, sample, key="esitieto")
    assert response.status_code == 201, response.json
    assert extensions.api.spec is spec and extensions.api._app is app  # the throwaway app took nothing of the API's
    coverage = response.json["coverage"]
    assert coverage["nodes"]["covered"] == coverage["nodes"]["all"] and len(coverage["flows"]["all"]) == 11
    assert [s["file"] for s in coverage["scenarios"]] == ["ilman_laboratoriota.scenario.json",
                                                          "laboratorion_kautta.scenario.json"]
    result = runner.invoke(args=["deploy", str(ROOT / "bpmn" / "esitieto")])
    assert result.exit_code == 0, result.output
    assert "esitieto: unchanged at version 1" in result.output
    assert result.output.rstrip().endswith("— scenarios: 2 passed; nodes 12/12 (100 %), flows 11/11 (100 %)")


def test_a_changed_sample_whose_scenario_no_longer_holds_is_refused_naming_it(ctx, runner, tmp_path):
    folder = tmp_path / "esitieto"
    shutil.copytree(ROOT / "bpmn" / "esitieto", folder)
    bpmn = folder / "esitieto.bpmn"
    bpmn.write_text(bpmn.read_text(encoding="utf-8").replace('"P3D"', '"P2D"'), encoding="utf-8")  # the reminder
    with pytest.raises(PackageInvalid) as caught:
        deploy.deploy([deploy.from_dir(folder, ROOT / "forms")], "tester")
    (problem,) = caught.value.problems
    assert problem.file == "esitieto/laboratorion_kautta.scenario.json" and problem.element == "muistutus_esitiedot"
    assert problem.reason == ("scenario 'Kova kipu: hoitaja pyytää laboratoriokokeet ennen vastausta': expected "
                              "reminder 'muistutus_esitiedot' to be sent at Thu 2026-01-08 09:00 but it was sent on "
                              "day 2 (Wed 2026-01-07 09:00)")
    assert db.session.scalar(select(func.count()).select_from(PathwayVersion)) == 0
    result = runner.invoke(args=["deploy", str(folder)])
    assert result.exit_code == 1 and "expected reminder 'muistutus_esitiedot'" in result.output


# --------------------------------------------------------------------------- each expectation


def test_every_kind_of_expectation_holds_when_it_should(ctx, fresh):
    result = deployed(files(kaikki={**RUN, "expect": PASSING}))
    coverage = result.version.coverage
    assert coverage["scenarios"] == [{"name": "kaikki", "file": "kaikki.scenario.json"}]
    assert set(coverage["nodes"]["all"]) - set(coverage["nodes"]["covered"]) == {"umpeutui"}
    assert set(coverage["flows"]["all"]) - set(coverage["flows"]["covered"]) == {"f_tavallinen", "f_umpeutui"}


def test_every_kind_of_expectation_fails_naming_what_was_expected_and_what_happened(ctx, fresh):
    problems = refused(files(**{kind.replace(" ", "_"): {**RUN, "expect": [*PASSING, exp]}
                                for kind, (exp, _, _) in FAILING.items()}))
    found = {p.file: p for p in problems}
    assert len(found) == len(FAILING)
    for kind, (_, reason, element) in FAILING.items():
        problem = found[f"testi/{kind.replace(' ', '_')}.scenario.json"]
        assert problem.reason == f"scenario '{kind.replace(' ', '_')}': {reason}"
        assert problem.element == element


def test_an_incident_fails_a_scenario_unless_it_is_expected(ctx, fresh):
    problems = refused(files(odottamatta={**INCIDENT, "expect": [{"opens": "kysely"}]},
                             ei_hairioita={**INCIDENT, "expect": [{"no_incident": True}]},
                             toisaalla={**INCIDENT, "expect": [{"incident": "kerro"}]}))
    reasons = {p.file.split("/")[1]: (p.reason, p.element) for p in problems}
    unexpected = "an incident at laske on day 0 (Mon 2026-01-05 10:00): ZeroDivisionError: division by zero."
    assert reasons["odottamatta.scenario.json"] == (f"scenario 'odottamatta': {unexpected}", "laske")
    assert reasons["ei_hairioita.scenario.json"] == (f"scenario 'ei_hairioita': {unexpected}", "laske")
    assert reasons["toisaalla.scenario.json"] == ("scenario 'toisaalla': expected an incident at kerro but there was "
                                                  "one at laske: ZeroDivisionError: division by zero.", "kerro")
    result = deployed(files(odotettu={**INCIDENT, "expect": [{"incident": "laske", "says": "division by zero"},
                                                             {"ends": "never"}, {"alert": "arvio", "times": 0}]}))
    assert "laske" not in result.version.coverage["nodes"]["covered"]


def test_a_task_left_unanswered_for_a_round_is_missed_and_the_next_round_answered(ctx, fresh):
    weekly = BPMN.replace('<bpmn:exclusiveGateway id="yhdista"/>', '<bpmn:exclusiveGateway id="yhdista" '
                          'default="f_loppu"/>').replace('<bpmn:sequenceFlow id="f_loppu"', '<bpmn:sequenceFlow '
                          'id="f_uudelleen" sourceRef="yhdista" targetRef="kysely"><bpmn:conditionExpression '
                          'xsi:type="bpmn:tFormalExpression">len(vastaukset) &lt; 2</bpmn:conditionExpression>'
                          '</bpmn:sequenceFlow><bpmn:sequenceFlow id="f_loppu"')
    weekly = weekly.replace("osuus = 10 / arvo", "osuus = 10 / arvo\nvastaukset = vastaukset + [arvo]")
    weekly = weekly.replace('<bpmn:startEvent id="alku"/>', '<bpmn:startEvent id="alku"/><bpmn:scriptTask id="alusta">'
                            '<bpmn:script>vastaukset = []\narvo = 1</bpmn:script></bpmn:scriptTask>')
    weekly = weekly.replace('sourceRef="alku" targetRef="kysely"', 'sourceRef="alku" targetRef="alusta"/>'
                            '<bpmn:sequenceFlow id="f_alustettu" sourceRef="alusta" targetRef="kysely"')
    scenario = {**RUN, "days": 10, "tasks": {"kysely": [None, {"arvo": 3}, {"arvo": 4}]}, "delays": {"kysely": "PT1H"},
                "expect": [{"missed": "kysely", "times": 1, "on_days": [3]},
                           {"opens": "kysely", "times": 3, "on_days": [0, 3, 3]},
                           {"notice": "kerro", "times": 2, "says": "vastasit 4"}, {"ends": "completed"}]}
    result = deployed({**files(viikot=scenario), "testi.bpmn": weekly.encode()})
    assert "f_uudelleen" in result.version.coverage["flows"]["covered"]


# --------------------------------------------------------------------------- a scenario file that cannot be played


@pytest.mark.parametrize(("content", "reason"), [
    (b"{not json", "not JSON: Expecting property name enclosed in double quotes"),
    (json.dumps([1, 2]).encode(), "a scenario is a JSON object"),
    (json.dumps({**RUN, "name": "x", "expect": [{"opened": "kysely"}]}).encode(),
     "expect[0]: unknown expectation 'opened' (the expectations: opens, alert, missed, reminder, notice,"),
    (json.dumps({**RUN, "name": "x", "expect": [{"opens": "kyselyy"}]}).encode(),
     "expect[0].opens: 'kyselyy' is not a task of the pathway (those it has: arvio, kysely)"),
    (json.dumps({**RUN, "name": "x", "expect": [{"alert": "kysely"}]}).encode(),
     "expect[0].alert: 'kysely' is not a professional's task of the pathway (those it has: arvio)"),
    (json.dumps({**RUN, "name": "x", "expect": [{"opens": "kysely", "at": "25:00"}]}).encode(),
     "expect[0].at: '25:00' is not a local time such as \"2026-01-12T09:00\""),
    (json.dumps({**RUN, "name": "x", "expect": [{"opens": "kysely", "to": "Lääkäri"}]}).encode(),
     "expect[0].to: 'Lääkäri' is not \"client\" or a team that follows the pathway (Hoitaja)"),
    (json.dumps({**RUN, "name": "x", "expect": [{"ends": "completed", "times": 1}]}).encode(),
     "expect[0].times: not an option of 'ends' (its options: by, at)"),
    (json.dumps({**RUN, "name": "x", "tasks": {"kyselyy": {}}, "expect": [{"no_incident": True}]}).encode(),
     "tasks.kyselyy: 'kyselyy' is not a task of the pathway (its tasks: arvio, kysely)"),
    (json.dumps({**RUN, "name": "x", "delays": {"kysely": "huomenna"}, "expect": [{"no_incident": True}]}).encode(),
     "delays.kysely: 'huomenna' is not an ISO-8601 duration"),
    (json.dumps({**RUN, "name": "x", "messages": [{"name": "tulos"}], "expect": [{"no_incident": True}]}).encode(),
     "messages[0].name: 'tulos' is not a message the pathway takes (none)"),
    (json.dumps({**RUN, "expect": [{"no_incident": True}]}).encode(), "name: give the scenario a name"),
    (json.dumps({**RUN, "name": "x", "days": 0, "expect": [{"no_incident": True}]}).encode(), "days: how many days"),
    (json.dumps({**RUN, "name": "x", "start": None, "expect": [{"no_incident": True}]}).encode(),
     "start: the moment the scenario starts"),
    (json.dumps({**RUN, "name": "x", "expect": []}).encode(), "expect: a list of expectations"),
    (json.dumps({**RUN, "name": "x", "odota": 1, "expect": [{"no_incident": True}]}).encode(),
     "odota: not a field of a scenario"),
])
def test_a_scenario_file_that_cannot_be_played_is_refused_naming_the_file_and_field(ctx, content, reason):
    problems = refused({**files(), "huono.scenario.json": content})
    assert [p.file for p in problems] == ["testi/huono.scenario.json"]
    assert reason in problems[0].reason, problems[0].reason


def test_the_api_refuses_a_bad_scenario_naming_file_and_field_and_routes_scenarios_out_of_the_forms(api, ctx):
    bad = {**files(), "huono.scenario.json": json.dumps({**RUN, "name": "x", "expect": [{"opens": "x"}]}).encode()}
    assert_rejected(upload(api, bad), "testi/huono.scenario.json", "expect[0].opens: 'x' is not a task")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as packed:
        for name, content in files(hyva={**RUN, "expect": PASSING}).items():
            packed.writestr(f"kansio/{name}", content)
    package = deploy.from_zip(archive.getvalue(), "testi", ROOT / "forms")
    assert list(package.scenarios) == ["hyva.scenario.json"] and list(package.forms) == ["arvo.json"]
    response = api.client.post("/api/v1/pathways/testi/versions", data={"package": (io.BytesIO(archive.getvalue()),
                               "p.zip")}, content_type="multipart/form-data", headers={"X-Polku-Actor": "s"})
    assert response.status_code == 201 and response.json["coverage"]["scenarios"][0]["name"] == "hyva"


# --------------------------------------------------------------------------- the clock, and playing once


@pytest.mark.clock(datetime(2031, 5, 1, 12, 0, tzinfo=UTC))
def test_a_deploy_plays_on_a_clock_of_its_own_and_leaves_everybody_else_s_alone(ctx, clock, fresh, monkeypatch):
    fixed = CLOCK.now()
    seen = {}
    original = simulate.drive

    def drive(version, script, end):
        other = threading.Thread(target=lambda: seen.setdefault("thread", CLOCK.now()))
        other.start()
        other.join()
        seen["own"] = CLOCK.now()
        return original(version, script, end)

    monkeypatch.setattr(simulate, "drive", drive)
    deployed(files(kaikki={**RUN, "expect": PASSING}))
    assert seen == {"thread": fixed, "own": datetime(2026, 1, 5, 7, 0, tzinfo=UTC)}
    assert CLOCK.now() == fixed and CLOCK.simulated


def test_a_scoped_clock_is_private_to_its_block_and_context(clock):
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    with CLOCK.scoped(datetime(2026, 1, 5, tzinfo=UTC)):
        CLOCK.advance(timedelta(hours=2))
        CLOCK.set(CLOCK.now() + timedelta(minutes=5))
        assert CLOCK.now() == datetime(2026, 1, 5, 2, 5, tzinfo=UTC)
        elsewhere = []
        other = threading.Thread(target=lambda: elsewhere.append(CLOCK.now()))
        other.start()
        other.join()
        assert elsewhere == [datetime(2030, 1, 1, tzinfo=UTC)]
        with pytest.raises(RuntimeError):
            CLOCK.release()
    assert CLOCK.now() == datetime(2030, 1, 1, tzinfo=UTC)
    CLOCK.release()
    with CLOCK.scoped(datetime(2026, 1, 5, tzinfo=UTC)):
        assert CLOCK.simulated
    assert not CLOCK.simulated


def test_the_same_content_is_played_once(app, ctx, fresh, monkeypatch):
    played = []
    monkeypatch.setattr(scenarios, "RUNS", {"packages": 0})
    original = scenarios.play
    monkeypatch.setattr(scenarios, "play", lambda *args: played.append(args[0].key) or original(*args))
    content = files(kaikki={**RUN, "expect": PASSING})
    first = deployed(content)
    assert deployed(content).version.id == first.version.id  # unchanged: the version and its coverage kept
    assert deployed(content, key="toinen").version.coverage == first.version.coverage  # another key, same content
    assert played == ["testi"]
    changed = {**content, "kaikki.scenario.json": json.dumps({**RUN, "name": "muutettu", "expect": PASSING}).encode()}
    assert deployed(changed).version.id == first.version.id  # the pathway is the same, its scenarios are new
    assert played == ["testi", "testi"]
    with pytest.raises(PackageInvalid):
        deployed({**content, "testi.bpmn": BPMN.replace('"P1D"', '"P2D"').encode()})
    with pytest.raises(PackageInvalid):  # a failure is remembered too
        deployed({**content, "testi.bpmn": BPMN.replace('"P1D"', '"P2D"').encode()})
    assert played == ["testi", "testi", "testi"]
