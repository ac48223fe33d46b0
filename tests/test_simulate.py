"""`flask simulate` runs a pathway on a simulated clock, on a throwaway database."""

import json

from sqlalchemy import func, select

from orchestrator.clock import CLOCK
from orchestrator.extensions import db
from orchestrator.models import Instance

from .conftest import FIXTURES


def simulate(runner, *args):
    return runner.invoke(args=["simulate", *args])


def test_a_twelve_week_run_prints_the_timeline_with_simulated_dates(app, runner):
    result = simulate(runner, "esitieto", "--days", "84", "--answers", str(FIXTURES / "esitieto-answers.json"))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "esitieto: 84 days from Mon 2026-01-05 09:00 (Europe/Helsinki)"
    expected = [
        "day   0  Mon 2026-01-05 09:00  started",
        "day   3  Thu 2026-01-08 09:00  timer fired     muistutus_esitiedot",
        "day   3  Thu 2026-01-08 09:00  reminder        to client asiakas-1: "
        "Muistathan täyttää esitietolomakkeen ennen vastaanottoa.",
        "day   4  Fri 2026-01-09 12:00  task completed  hoitajan_arvio",
        "day   8  Tue 2026-01-13 09:00  message         lab_result_ready",
        "day   9  Wed 2026-01-14 11:00  task completed  asiakas_kuittaa",
        "day   9  Wed 2026-01-14 11:00  pathway ended   completed",
    ]
    for wanted in expected:
        assert any(line.startswith(wanted) for line in lines), (wanted, result.output)
    assert [line for line in lines if "timer fired" in line] == [expected[1]]  # the reminder fires once
    assert lines[-1] == expected[-1] and "timer waiting" not in result.output
    # Nothing reached the app's own database, and the clock is the system's again.
    with app.app_context():
        assert db.session.scalar(select(func.count(Instance.id))) == 0
    assert not CLOCK.simulated


def test_unanswered_tasks_stay_open_to_the_end(runner):
    result = simulate(runner, "esitieto", "--days", "10")
    assert result.exit_code == 0, result.output
    assert "task still open esitietolomake (no answer scripted)" in result.output
    assert result.output.count("timer fired") == 1
    assert "pathway ended" not in result.output


def test_timers_still_waiting_at_the_end_are_shown_with_their_dates(runner):
    result = simulate(runner, "esitieto", "--days", "2", "--answers", str(FIXTURES / "esitieto-answers.json"))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == ("day   3  Thu 2026-01-08 09:00  timer waiting   muistutus_esitiedot "
                                              "(due after the simulated days)")


def test_bad_scripts_are_named_not_tracebacks(runner, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"tasks": {"esitietolomake": {"kipu": "kova"}}}))
    result = simulate(runner, "esitieto", "--answers", str(bad))
    assert result.exit_code == 1
    assert "tasks.esitietolomake: the answers do not fit the form" in result.output
    assert "/kipu: 'kova' is not of type 'integer'" in result.output
    bad.write_text(json.dumps({"delays": {"esitietolomake": "3 days"}}))
    assert "delays.esitietolomake: '3 days' is not an ISO-8601 duration" in simulate(runner, "esitieto", "--answers",
                                                                                       str(bad)).output
    missing = simulate(runner, "ei-ole")
    assert missing.exit_code == 2 and "no pathway package 'ei-ole'" in missing.output
    assert not CLOCK.simulated


def test_a_pathway_s_optional_modules_are_on_in_a_simulation_unless_the_script_says(runner, tmp_path):
    script = tmp_path / "off.json"
    start = {"tavoite": "Laihtua", "valmius": 7, "pituus": 170, "paino": 90, "vyotaro": 100}
    script.write_text(json.dumps({"variables": {"liikuntapaivakirja": False}, "tasks": {"aloituskysely": start}}))
    result = simulate(runner, "painonhallinta", "--days", "3", "--answers", str(script))
    assert result.exit_code == 0, result.output
    assert "task opened     ruokapaivakirja" in result.output and "liikuntapaivakirja" not in result.output
    assert "INCIDENT" not in result.output
