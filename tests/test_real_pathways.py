"""The three real pathway packages (painonhallinta, diabetesriski, verenpaine): they deploy, open in a
modeller (complete diagram interchange), their forms are valid JSON Schema, their simulated weeks put
every task, timer and reminder on the right day, and the FINDRISC test is scored right at every boundary."""

import json
import re
from pathlib import Path
from uuid import UUID

import jsonschema
import pytest
from lxml import etree
from sqlalchemy import select

from orchestrator.core.answers import field_errors
from orchestrator.core.projection import render
from orchestrator.engine.measurements import KINDS
from orchestrator.extensions import db
from orchestrator.models import HumanTask, Instance
from orchestrator.tools import deploy, simulate

from .conftest import FIXTURES, ROOT
from .engine_runner import EngineRun, package_files

PACKAGES = ("painonhallinta", "diabetesriski", "verenpaine")
SIMULATIONS = FIXTURES / "simulations"
ZONE = "Europe/Helsinki"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI"}
FLOW_NODES = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
              "userTask", "manualTask", "scriptTask", "businessRuleTask", "subProcess", "exclusiveGateway",
              "parallelGateway", "eventBasedGateway")
LINE = re.compile(r"^day +(\d+)  \w{3} (\d{4}-\d{2}-\d{2} \d{2}:\d{2})  (.*)$")


def folder(key: str) -> Path:
    return ROOT / "bpmn" / key


# --------------------------------------------------------------------------- the simulated timelines


def run_cli(runner, key: str, days: int, answers: Path) -> list[str]:
    result = runner.invoke(args=["simulate", key, "--days", str(days), "--answers", str(answers)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "INCIDENT" not in result.output, result.output
    return lines


def parsed(lines: list[str]) -> list[tuple[int, str, str, str]]:
    """(day, local time, what, detail) of each timeline line."""
    found = []
    for line in lines[1:]:
        match = LINE.match(line)
        assert match, line
        found.append((int(match[1]), match[2], match[3][:15].strip(), match[3][16:]))
    return found


def days_of(rows, what: str, spec: str) -> list[int]:
    return [day for day, _, kind, detail in rows if kind == what and detail.split(" ")[0] == spec]


def times_of(rows, what: str, spec: str) -> list[str]:
    return [at for _, at, kind, detail in rows if kind == what and detail.split(" ")[0] == spec]


def run_into_db(app, key: str, days: int, answers: Path | dict, tmp_path: Path | None = None) -> Instance:
    """The simulator's run, but on the test's own database, so that the tasks it left can be read."""
    if isinstance(answers, dict):
        path = tmp_path / f"{key}.json"
        path.write_text(json.dumps(answers), encoding="utf-8")
        answers = path
    script = simulate.Script.load(answers, ZONE)
    simulate.run(lambda _url: app, folder(key), ROOT / "forms", script, days)
    db.session.rollback()
    (instance,) = db.session.scalars(select(Instance)).all()
    return instance


def tasks(instance: Instance, spec: str) -> list[HumanTask]:
    return list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                           HumanTask.spec == spec).order_by(HumanTask.created_at)))


def answers_file(key: str) -> dict:
    return json.loads((SIMULATIONS / f"{key}.json").read_text(encoding="utf-8"))


def test_weight_management_runs_its_twelve_weeks(runner):
    lines = run_cli(runner, "painonhallinta", 91, SIMULATIONS / "painonhallinta.json")
    assert lines[0] == "painonhallinta: 91 days from Mon 2026-01-05 09:00 (Europe/Helsinki)"
    rows = parsed(lines)
    for wanted in [
        "day   0  Mon 2026-01-05 10:00  task opened     ruokapaivakirja \"Pidä ruokapäiväkirjaa\" (Asiakas)",
        "day   0  Mon 2026-01-05 10:00  task opened     liikuntapaivakirja \"Pidä liikuntapäiväkirjaa\" (Asiakas)",
        "day   7  Mon 2026-01-12 07:00  task opened     viikkopunnitus \"Punnitse itsesi\" (Asiakas)",
        "day   8  Tue 2026-01-13 08:00  reminder        to client asiakas-1: Muista punnita itsesi ja kirjata painosi "
        "(viikko 1).",
        "day  14  Mon 2026-01-19 22:00  timer fired     ruokapaivakirja_paattyy",
        "day  10  Thu 2026-01-15 10:00  task completed  liikuntapaivakirja {}",
        "day  28  Mon 2026-02-02 07:00  task opened     vyotaromittaus \"Mittaa vyötärönympärys\" (Asiakas)",
        "day  42  Mon 2026-02-16 09:00  timer fired     valiarvion_aika",
        "day  42  Mon 2026-02-16 09:00  task opened     valiarvio \"Tee väliarvio\" (Hoitaja)",
        "day  42  Mon 2026-02-16 14:00  task opened     lue_valiarvio \"Lue hoitajan viesti\" (Asiakas)",
        # summer time began on 29 March: the plan keeps its local hours
        "day  84  Mon 2026-03-30 09:00  task opened     loppukysely \"Vastaa loppukyselyyn\" (Asiakas)",
        "day  85  Tue 2026-03-31 08:00  reminder        to client asiakas-1: Muista punnita itsesi ja kirjata painosi "
        "(viikko 12).",
    ]:
        assert wanted in lines, (wanted, "\n".join(lines))
    # Twelve weekly weighings on the pathway's weekday at 07:00, before and after summer time began; a reminder
    # the next morning at 08:00 (the answers come 26 hours after opening); the waist every fourth week.
    assert days_of(rows, "task opened", "viikkopunnitus") == [7 * week for week in range(1, 13)]
    assert {at[11:] for at in times_of(rows, "task opened", "viikkopunnitus")} == {"07:00"}
    assert {at[11:] for at in times_of(rows, "timer fired", "muistutus_punnitus")} == {"08:00"}
    assert days_of(rows, "timer fired", "muistutus_punnitus") == [7 * week + 1 for week in range(1, 13)]
    assert days_of(rows, "task completed", "viikkopunnitus") == [7 * week + 1 for week in range(1, 13)]
    assert days_of(rows, "task opened", "vyotaromittaus") == [28, 56, 84]
    assert days_of(rows, "timer fired", "muistutus_vyotaro") == []  # measured within three hours each time
    # Content pages: healthy eating at once, everyday exercise after a week, keeping it up two weeks later.
    assert days_of(rows, "task opened", "lue_ruokavalio") == [0]
    assert days_of(rows, "task opened", "lue_arkiliikunta") == [7]
    assert days_of(rows, "task opened", "lue_muutos_pysyvaksi") == [21]
    # The mid-point review opens once, in week 6, for the nurse; the end questionnaire once, in week 12.
    assert days_of(rows, "task opened", "valiarvio") == [42]
    assert days_of(rows, "task opened", "loppukysely") == [84]
    # The client marks the exercise diary done on day 10; the food diary is ended by its phase on day 14.
    assert days_of(rows, "timer fired", "liikuntapaivakirja_paattyy") == []
    assert days_of(rows, "timer fired", "ruokapaivakirja_paattyy") == [14]
    assert days_of(rows, "timer fired", "punnitus_umpeutui") == []  # every weighing was sent in time
    assert [row for row in rows if row[2] == "pathway ended"] == [(85, "2026-03-31 09:00", "pathway ended",
                                                                   "completed")]
    assert lines[-1].startswith("day  85  Tue 2026-03-31 09:00  pathway ended")
    assert "timer waiting" not in "\n".join(lines) and "task still open" not in "\n".join(lines)


def test_weight_management_shows_the_nurse_the_start_and_the_client_her_message(app, ctx):
    instance = run_into_db(app, "painonhallinta", 91, SIMULATIONS / "painonhallinta.json")
    assert instance.status == "completed"
    (review,) = tasks(instance, "valiarvio")
    assert review.role == "Hoitaja" and review.audience == "professional"
    assert "Tavoite: Haluan laihtua 5 kiloa ja jaksaa kävellä pidempään\\." in review.instructions
    assert "Pituus 168 cm, paino alussa 92\\.4 kg" in review.instructions
    assert "Painoindeksi alussa 32\\.7 (lihavuus)" in review.instructions  # 92.4 / 1.68² = 32.7
    (message,) = tasks(instance, "lue_valiarvio")
    assert message.audience == "client"
    assert "Hienoa työtä\\! Painosi on laskenut tasaisesti\\." in message.instructions  # its Markdown escaped
    weighings = tasks(instance, "viikkopunnitus")
    assert [t.state for t in weighings] == ["completed"] * 12
    assert "Viikon 6 punnitus" in weighings[5].instructions
    assert [t.state for t in tasks(instance, "ruokapaivakirja")] == ["cancelled"]  # ended by its two-week timer
    assert [t.state for t in tasks(instance, "liikuntapaivakirja")] == ["completed"]  # marked done


def test_weight_management_without_diaries_and_without_answers_keeps_its_weekly_rhythm(runner, tmp_path):
    """Modules switched off: no diaries. Nothing answered after the start: every weighing still opens a
    week after the last, is reminded the next day and closes after six days; the duration ends the pathway."""
    script = {"start": "2026-01-05T09:00:00", "client_id": "asiakas-1",
              "variables": {"ruokapaivakirja": False, "liikuntapaivakirja": False},
              "tasks": {"aloituskysely": answers_file("painonhallinta")["tasks"]["aloituskysely"]}}
    path = tmp_path / "hiljainen.json"
    path.write_text(json.dumps(script), encoding="utf-8")
    rows = parsed(run_cli(runner, "painonhallinta", 100, path))
    assert days_of(rows, "task opened", "ruokapaivakirja") == [] == days_of(rows, "task opened", "liikuntapaivakirja")
    assert days_of(rows, "task opened", "viikkopunnitus") == [7 * week for week in range(1, 13)]
    assert days_of(rows, "timer fired", "muistutus_punnitus") == [7 * week + 1 for week in range(1, 13)]
    assert days_of(rows, "timer fired", "punnitus_umpeutui") == [7 * week + 6 for week in range(1, 13)]
    assert days_of(rows, "timer fired", "vyotaro_umpeutui") == [34, 62, 90]
    assert days_of(rows, "timer fired", "loppukysely_sulkeutui") == [90]
    # The nurse's review and the first content page were left open, so the pathway's duration (P13W) ends it.
    assert [(day, what) for day, _, what, _ in rows[-2:]] == [(91, "duration ended"), (91, "pathway ended")]


def test_diabetes_risk_test_result_by_band_and_the_follow_up_after_three_months(runner):
    lines = run_cli(runner, "diabetesriski", 120, SIMULATIONS / "diabetesriski.json")
    rows = parsed(lines)
    for wanted in [
        "day   0  Mon 2026-01-05 09:10  task opened     findrisc_testi \"Tee diabetesriskitesti\" (Asiakas)",
        "day   3  Thu 2026-01-08 09:10  reminder        to client asiakas-1: Muistathan tehdä diabetesriskitestin. "
        "Se vie noin 5 minuuttia.",
        "day   4  Fri 2026-01-09 09:10  task opened     tulos \"Katso testin tulos\" (Asiakas)",
        "day   4  Fri 2026-01-09 09:15  task opened     lue_korkea_riski \"Lue: Kun riski on korkea\" (Asiakas)",
        # the first 09:00 once three calendar months have passed since the answer (9 January 09:30): 10 April
        "day  95  Fri 2026-04-10 09:00  timer fired     kolme_kuukautta",
        "day  95  Fri 2026-04-10 09:00  reminder        to client asiakas-1: Kolme kuukautta on kulunut "
        "diabetesriskitestistäsi. Tee testi uudelleen ja katso, miten tuloksesi on muuttunut.",
        "day  95  Fri 2026-04-10 09:00  task opened     findrisc_testi \"Tee diabetesriskitesti\" (Asiakas)",
        "day  99  Tue 2026-04-14 09:05  task opened     lue_elintapamuutokset \"Lue: Pienillä muutoksilla "
        "pienempi riski\" (Asiakas)",
        "day  99  Tue 2026-04-14 09:15  pathway ended   completed",
    ]:
        assert wanted in lines, (wanted, "\n".join(lines))
    assert days_of(rows, "task opened", "findrisc_testi") == [0, 95]
    assert days_of(rows, "task opened", "tulos") == [4, 99]
    assert days_of(rows, "task opened", "uusintatesti_kysely") == [4]  # asked once: the second test ends it
    assert days_of(rows, "task opened", "lue_hyvat_elintavat") == []
    assert lines[-1] == "day  99  Tue 2026-04-14 09:15  pathway ended   completed"


def test_diabetes_result_page_shows_score_band_risk_and_advice(app, ctx):
    instance = run_into_db(app, "diabetesriski", 120, SIMULATIONS / "diabetesriski.json")
    first, second = tasks(instance, "tulos")
    # 55–64 years 3, BMI 95/1.78² = 30.0 → 1, man's waist 104 → 4, no daily exercise 2, vegetables not daily 1,
    # blood-pressure medicine 2, high glucose never 0, a grandparent with diabetes 3: 16.
    assert "Sait testistä **16 pistettä**" in first.instructions
    assert "on **korkea**" in first.instructions and "Arviolta noin 1/3 ihmisistä" in first.instructions
    assert "varaa aika verensokerin mittaukseen" in first.instructions
    # Three months on: 90 kg (28.4 → 1), waist 99 → 3, exercise and vegetables daily: 12, moderate.
    assert "Sait testistä **12 pistettä**" in second.instructions
    assert "on **kohtalainen**" in second.instructions and "noin 1/6" in second.instructions
    assert first.audience == second.audience == "client" and instance.status == "completed"


def test_diabetes_pathway_ends_when_no_follow_up_is_wanted(runner, tmp_path):
    script = answers_file("diabetesriski")
    script["tasks"]["uusintatesti_kysely"] = {"muistutus": False}
    path = tmp_path / "ei-muistutusta.json"
    path.write_text(json.dumps(script), encoding="utf-8")
    lines = run_cli(runner, "diabetesriski", 120, path)
    assert lines[-1] == "day   4  Fri 2026-01-09 09:30  pathway ended   completed"
    assert "kolme_kuukautta" not in "\n".join(lines) and "timer waiting" not in "\n".join(lines)


READINGS = answers_file("verenpaine")["tasks"]["verenpainemittaus"]


def reading_means() -> list[tuple[float, float]]:
    """Each reading's mean of its two measurements, as the pathway computes it."""
    return [((r["systolinen_1"] + r["systolinen_2"]) / 2, (r["diastolinen_1"] + r["diastolinen_2"]) / 2)
            for r in READINGS]


def high(mean: tuple[float, float]) -> bool:
    return mean[0] >= 135 or mean[1] >= 85


def test_home_blood_pressure_opened_at_15_41_measures_mornings_and_evenings_across_summer_time(runner):
    """Opened on Monday 23 March at 15:41: readings open at 07:00 and 18:00 on days 1–7 whatever the opening
    hour, also after summer time began on 29 March; each high reading opens the nurse's task in its own step."""
    lines = run_cli(runner, "verenpaine", 21, SIMULATIONS / "verenpaine.json")
    assert lines[0] == "verenpaine: 21 days from Mon 2026-03-23 15:41 (Europe/Helsinki)"
    rows = parsed(lines)
    opened = times_of(rows, "task opened", "verenpainemittaus")
    assert opened == [f"2026-03-{24 + n // 2:02d} {'07' if n % 2 == 0 else '18'}:00" for n in range(14)]
    for at in opened:  # mornings 06–10, evenings 17–22, local time
        hour = int(at[11:13])
        assert 6 <= hour < 10 or 17 <= hour < 22, at
    assert days_of(rows, "task opened", "verenpainemittaus") == [1 + n // 2 for n in range(14)]
    # Answered 2 h 30 min after opening: the reminder at 09:00 or 20:00 came first, each time.
    assert times_of(rows, "timer fired", "muistutus_mittaus") == \
        [f"2026-03-{24 + n // 2:02d} {'09' if n % 2 == 0 else '20'}:00" for n in range(14)]
    assert "day   6  Sun 2026-03-29 20:00  reminder        to client asiakas-1: Muista mitata verenpaineesi " \
        "(iltamittaus 12/14) ja kirjata tulokset viimeistään klo 22.00." in lines
    completed = times_of(rows, "task completed", "verenpainemittaus")
    assert len(completed) == 14
    # The client is told at once what each reading means, in the step that sent it.
    notices = [(at, detail) for _, at, what, detail in rows if what == "notice"]
    assert [at for at, _ in notices] == completed
    assert "Aamumittaus 5/14: kahden mittauksen keskiarvo 126/79,5 mmHg. Verenpaineesi on tavoitteessa" in notices[4][1]
    assert "soita tänään terveysasemalle tai Päivystysapuun 116 117" in notices[11][1]  # 184/111: very high
    # Every high reading reaches the nurse in the same step, although the previous alert was handled.
    highs = [at for at, mean in zip(completed, reading_means(), strict=True) if high(mean)]
    assert len(highs) == 4
    assert times_of(rows, "task opened", "kohonneet_arvot") == highs
    assert len(times_of(rows, "task completed", "kohonneet_arvot")) == 4
    # The laboratory reminder on day 5 at 08:00; the summary after the fourteenth reading; the client reads it.
    assert "day   5  Sat 2026-03-28 08:00  reminder        to client asiakas-1: Muista käydä laboratoriossa ennen " \
        "vastaanottoa. Varaa aika laboratorioon, jos et ole vielä varannut." in lines
    assert times_of(rows, "task opened", "yhteenveto_hoitaja") == [completed[-1]]
    assert days_of(rows, "task opened", "lue_yhteenveto") == [8]
    assert lines[-1] == "day   8  Tue 2026-03-31 10:30  pathway ended   completed"


def test_blood_pressure_nurse_sees_each_high_reading_and_the_summary_counts(app, ctx):
    instance = run_into_db(app, "verenpaine", 21, SIMULATIONS / "verenpaine.json")
    alerts = tasks(instance, "kohonneet_arvot")
    assert [a.audience for a in alerts] == ["professional"] * 4 and {a.role for a in alerts} == {"Hoitaja"}
    assert "Kohonnut kotimittausarvo: 146/91 mmHg" in alerts[0].instructions  # (148+144)/2, (92+90)/2
    assert "Aamumittaus 3/14" in alerts[0].instructions and "Luokitus: **koholla**" in alerts[0].instructions
    assert "Kohonnut kotimittausarvo: 184/111 mmHg" in alerts[3].instructions
    assert "Luokitus: **hyvin korkea**" in alerts[3].instructions and "116 117" in alerts[3].instructions
    means = reading_means()
    (summary,) = tasks(instance, "yhteenveto_hoitaja")
    mean = (round(sum(m[0] for m in means) / 14), round(sum(m[1] for m in means) / 14))
    assert "Asiakas teki 14/14 suunniteltua kotimittausta" in summary.instructions
    assert "0 jäi tekemättä" in summary.instructions
    assert f"Mittausten keskiarvo oli **{mean[0]}/{mean[1]} mmHg**" in summary.instructions
    assert "raja 135/85 mmHg ylittyi 4 mittauksessa" in summary.instructions
    (reading,) = tasks(instance, "lue_yhteenveto")
    assert "Teit 14/14 mittausta" in reading.instructions
    assert "Varaamme sinulle ajan vastaanotolle, jossa katsomme tulokset yhdessä" in reading.instructions
    readings = tasks(instance, "verenpainemittaus")
    assert "Mittaus 1/14: aamumittaus" in readings[0].instructions and "aamulla ennen aamupalaa" in \
        readings[0].instructions and "viimeistään klo 11\\.00" in readings[0].instructions
    assert "Mittaus 14/14: iltamittaus" in readings[13].instructions and "viimeistään klo 22\\.00" in \
        readings[13].instructions
    # Due when the window closes: four hours after it opens, 07–11 and 18–22 local time.
    assert {(r.due_at - r.created_at).total_seconds() for r in readings} == {4 * 3600}


def test_blood_pressure_without_high_readings_needs_no_nurse_until_the_summary(app, ctx, tmp_path):
    script = answers_file("verenpaine")
    script["tasks"]["verenpainemittaus"] = [{"systolinen_1": 126, "diastolinen_1": 80, "systolinen_2": 124,
                                             "diastolinen_2": 78}] * 14
    instance = run_into_db(app, "verenpaine", 21, script, tmp_path)
    assert tasks(instance, "kohonneet_arvot") == []
    (summary,) = tasks(instance, "yhteenveto_hoitaja")
    assert "Yksikään mittaus ei ylittänyt kotimittauksen rajaa 135/85 mmHg" in summary.instructions
    assert "Mittausten keskiarvo oli **125/79 mmHg**" in summary.instructions
    assert instance.status == "completed"


def test_missed_readings_stay_missed_and_the_plan_keeps_its_hours(app, ctx, runner, tmp_path):
    """Five readings taken, nine missed: the missed ones close at 11:00 and 22:00, the next still opens on
    time, and the summary says what was taken and missed."""
    script = answers_file("verenpaine")
    script["tasks"]["verenpainemittaus"] = READINGS[:5]
    script["delays"]["verenpainemittaus"] = "PT30M"
    path = tmp_path / "harvat.json"
    path.write_text(json.dumps(script), encoding="utf-8")
    rows = parsed(run_cli(runner, "verenpaine", 21, path))
    assert times_of(rows, "task opened", "verenpainemittaus") == \
        [f"2026-03-{24 + n // 2:02d} {'07' if n % 2 == 0 else '18'}:00" for n in range(14)]
    assert times_of(rows, "task missed", "verenpainemittaus") == \
        [f"2026-03-{24 + n // 2:02d} {'11' if n % 2 == 0 else '22'}:00" for n in range(5, 14)]
    assert times_of(rows, "task opened", "yhteenveto_hoitaja") == ["2026-03-30 22:00"]
    instance = run_into_db(app, "verenpaine", 21, path)
    assert [t.state for t in tasks(instance, "verenpainemittaus")] == ["completed"] * 5 + ["missed"] * 9
    (summary,) = tasks(instance, "yhteenveto_hoitaja")
    assert "Asiakas teki 5/14 suunniteltua kotimittausta" in summary.instructions
    assert "9 jäi tekemättä" in summary.instructions
    assert "raja 135/85 mmHg ylittyi 1 mittauksessa" in summary.instructions


# --------------------------------------------------------------------------- FINDRISC at every boundary

DIABETES = folder("diabetesriski")
FINDRISC_FORM = json.loads((DIABETES / "findrisc.json").read_text(encoding="utf-8"))


def package_forms(key: str):
    return lambda name: (folder(key) / name).read_bytes() if (folder(key) / name).is_file() else None


def findrisc(ika=0, sukupuoli="mies", pituus=170, paino=65, vyotaro=90, liikunta=0, kasvikset=0,
             verenpainelaake=0, verensokeri=0, suku=0) -> dict:
    answers = {"ika_pisteet": ika, "sukupuoli": sukupuoli, "pituus": pituus, "paino": paino, "vyotaro": vyotaro,
               "liikunta_pisteet": liikunta, "kasvikset_pisteet": kasvikset,
               "verenpainelaake_pisteet": verenpainelaake, "verensokeri_pisteet": verensokeri,
               "suku_pisteet": suku}
    assert field_errors(FINDRISC_FORM, answers) == []  # a client could send exactly this
    return answers


def scored(answers: dict) -> dict:
    """Run the pathway to its result page; the result page task's data."""
    run = EngineRun(package_files(DIABETES), forms=package_forms("diabetesriski"))
    run.complete("lue_diabetes", {})
    run.complete("findrisc_testi", answers)
    assert set(run.ready()) == {"tulos"}
    task = run.workflow.get_task_from_id(UUID(run.ready()["tulos"]))
    data = dict(task.data)
    data["page"] = render(run.compiled.task_meta["tulos"]["instructions"], data, markdown=True)
    return data


CASES = [  # total, band, risk, answers (each item's points in the comment)
    (0, "matala", "noin 1/100", findrisc()),  # all 0; BMI 65/1.7² = 22.5
    (6, "matala", "noin 1/100", findrisc(ika=4, liikunta=2, sukupuoli="nainen", vyotaro=79.9)),  # 4+2
    (7, "lievästi kohonnut", "noin 1/25", findrisc(ika=4, liikunta=2, pituus=200, paino=100)),  # 4+BMI 25.0→1+2
    (11, "lievästi kohonnut", "noin 1/25",  # 2 + BMI 30.0→1 + waist 94→3 + 2 + 1 + 2
     findrisc(ika=2, pituus=200, paino=120, vyotaro=94, liikunta=2, kasvikset=1, verenpainelaake=2)),
    (12, "kohtalainen", "noin 1/6",  # 3 + BMI 30.1→3 + waist 102→3 + 1 + 2
     findrisc(ika=3, pituus=200, paino=120.4, vyotaro=102, kasvikset=1, verenpainelaake=2)),
    (14, "kohtalainen", "noin 1/6",  # 4 + BMI 25.0→1 + woman's waist 80→3 + 1 + 2 + 3
     findrisc(ika=4, pituus=200, paino=100, sukupuoli="nainen", vyotaro=80, kasvikset=1, verenpainelaake=2,
              suku=3)),
    (15, "korkea", "noin 1/3",  # 0 + BMI 25.0→1 + waist 102.5→4 + glucose 5 + parent 5
     findrisc(pituus=200, paino=100, vyotaro=102.5, verensokeri=5, suku=5)),
    (20, "korkea", "noin 1/3",  # 4 + BMI 24.9→0 + woman's waist 88→3 + 2 + 1 + 5 + 5
     findrisc(ika=4, pituus=200, paino=99.6, sukupuoli="nainen", vyotaro=88, liikunta=2, kasvikset=1, verensokeri=5,
              suku=5)),
    (21, "hyvin korkea", "noin 1/2",  # 4 + BMI 25.0→1 + woman's waist 88.5→4 + 2 + 5 + 5
     findrisc(ika=4, pituus=200, paino=100, sukupuoli="nainen", vyotaro=88.5, liikunta=2, verensokeri=5, suku=5)),
    (26, "hyvin korkea", "noin 1/2",  # every item at its most: 4 + BMI 35.2→3 + 4 + 2 + 1 + 2 + 5 + 5
     findrisc(ika=4, pituus=160, paino=90, vyotaro=110, liikunta=2, kasvikset=1, verenpainelaake=2, verensokeri=5,
              suku=5)),
]


@pytest.mark.parametrize(("total", "band", "risk", "answers"), CASES, ids=[f"{c[0]}p" for c in CASES])
def test_findrisc_total_band_and_risk(total, band, risk, answers):
    data = scored(answers)
    assert data["findrisc_pisteet"] == total
    assert (data["findrisc_luokka"], data["findrisc_riski"]) == (band, risk)
    assert f"Sait testistä **{total} pistettä**" in data["page"]
    assert f"kymmenen vuoden kuluessa on **{band}**" in data["page"]
    assert f"Arviolta {risk} ihmisistä" in data["page"]
    high = band in ("korkea", "hyvin korkea")
    assert ("varaa aika verensokerin mittaukseen" in data["findrisc_ohje"]) is high


@pytest.mark.parametrize(("pituus", "paino", "points"), [
    (200, 99.6, 0),  # BMI 24.9
    (200, 100, 1),  # exactly 25
    (200, 120, 1),  # exactly 30
    (200, 120.4, 3),  # 30.1
    (178, 95, 1),  # 29.98, which is 30.0 to one decimal
    (150, 40, 0),  # 17.8
])
def test_findrisc_bmi_boundaries(pituus, paino, points):
    data = scored(findrisc(pituus=pituus, paino=paino))
    assert data["bmi_pisteet"] == points
    assert data["findrisc_pisteet"] == points  # every other item at 0, the man's waist 90 too


@pytest.mark.parametrize(("sukupuoli", "vyotaro", "points"), [
    ("mies", 93.9, 0), ("mies", 94, 3), ("mies", 102, 3), ("mies", 102.1, 4),
    ("nainen", 79.9, 0), ("nainen", 80, 3), ("nainen", 88, 3), ("nainen", 88.1, 4),
])
def test_findrisc_waist_boundaries(sukupuoli, vyotaro, points):
    data = scored(findrisc(sukupuoli=sukupuoli, vyotaro=vyotaro))
    assert data["vyotaro_pisteet"] == points
    assert data["findrisc_pisteet"] == points


def test_findrisc_band_chooses_the_lifestyle_page():
    pages = {}
    for _, band, _, answers in CASES:
        run = EngineRun(package_files(DIABETES), forms=package_forms("diabetesriski"))
        run.complete("lue_diabetes", {})
        run.complete("findrisc_testi", answers)
        run.complete("tulos", {})
        (page,) = run.ready()
        pages.setdefault(page, set()).add(band)
    assert pages == {"lue_hyvat_elintavat": {"matala"},
                     "lue_elintapamuutokset": {"lievästi kohonnut", "kohtalainen"},
                     "lue_korkea_riski": {"korkea", "hyvin korkea"}}


# --------------------------------------------------------------------------- the packages themselves


@pytest.mark.parametrize("key", PACKAGES)
def test_package_deploys_with_its_settings(ctx, key):
    (deployed,) = deploy.deploy(deploy.packages_in(folder(key), ROOT / "forms"), "tester")
    version = deployed.version
    settings = version.settings
    expected = {"painonhallinta": ("professional", "P13W", 2, "Hoitaja", ["weight", "waist"]),
                "diabetesriski": ("self-care", "P4M", None, None, ["weight", "waist"]),
                "verenpaine": ("professional", "P3W", 2, "Hoitaja", ["systolic", "diastolic"])}[key]
    assert (version.kind, settings["duration"], settings["reply_within_working_days"], settings["message_team"],
            settings["measurements"]) == expected
    assert settings["consent"] == "suostumus.md"
    assert settings["phases"] and settings["phases"][0]["offset"] == "P0D"
    pages = {meta.get("content") for meta in version.task_meta.values()} - {None}
    assert pages and all((folder(key) / page).is_file() for page in pages)
    if key == "painonhallinta":
        assert settings["modules"] == {"ruokapaivakirja": "Ruokapäiväkirja", "liikuntapaivakirja": "Liikuntapäiväkirja"}
        diaries = {version.task_meta[t]["diary"] for t in ("ruokapaivakirja", "liikuntapaivakirja")}
        assert diaries == {"food", "exercise"}
    if key == "verenpaine":
        assert settings["targets"] == {"systolic": [90.0, 135.0], "diastolic": [50.0, 85.0]}
    if key == "diabetesriski":  # self-care: only the client's lane
        assert {meta.get("lane") for meta in version.task_meta.values() if meta.get("kind") in
                ("userTask", "manualTask")} == {"Asiakas"}


@pytest.mark.parametrize("key", PACKAGES)
def test_diagram_is_complete_for_a_modeller(key):
    """A shape for every flow node, lane and participant, an edge with waypoints for every sequence flow,
    and no shape on top of another (a boundary event sits on its task, a subprocess holds its own)."""
    (path,) = folder(key).glob("*.bpmn")
    tree = etree.parse(str(path))
    shapes = {s.get("bpmnElement"): s for s in tree.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in tree.iterfind(".//bpmndi:BPMNEdge", NS)}
    nodes = [n for tag in FLOW_NODES for n in tree.iterfind(f".//bpmn:{tag}", NS)]
    wanted = [n.get("id") for n in nodes] + [n.get("id") for n in tree.iterfind(".//bpmn:lane", NS)] + \
        [n.get("id") for n in tree.iterfind(".//bpmn:participant", NS)]
    assert [i for i in wanted if i not in shapes] == []
    flows = [f.get("id") for f in tree.iterfind(".//bpmn:sequenceFlow", NS)]
    assert flows and [f for f in flows if f not in edges or len(edges[f].findall("di:waypoint", NS)) < 2] == []
    assert set(shapes) | set(edges) <= set(wanted) | set(flows)  # nothing drawn that is not in the model

    def bounds(element_id):
        b = shapes[element_id].find("dc:Bounds", NS)
        return tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))

    inside = {n.get("id"): n.getparent().get("id") for n in nodes if etree.QName(n.getparent()).localname ==
              "subProcess"}
    placed = [n.get("id") for n in nodes if etree.QName(n).localname != "boundaryEvent"]
    for i, a in enumerate(placed):
        for b in placed[i + 1:]:
            if inside.get(a) == b or inside.get(b) == a:
                continue
            (ax, ay, aw, ah), (bx, by, bw, bh) = bounds(a), bounds(b)
            assert not (ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah), (a, b)
    participant = bounds(tree.find(".//bpmn:participant", NS).get("id"))
    for node in placed:  # left to right inside the pool
        x, y, w, h = bounds(node)
        assert participant[0] < x and x + w < participant[0] + participant[2], node
        assert participant[1] <= y and y + h <= participant[1] + participant[3], node


def form_files() -> list[Path]:
    return sorted(p for key in PACKAGES for p in folder(key).glob("*.json")
                  if not p.name.endswith((".ui.json", ".scenario.json")))


@pytest.mark.parametrize("path", form_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_form_is_a_finnish_json_schema(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert schema["title"] and schema["description"]
    assert set(schema.get("required", [])) <= set(schema["properties"])
    for name, field in schema["properties"].items():
        assert field.get("title"), name
        for option in field.get("oneOf", []):
            assert option.get("title") and "const" in option, name
        kind = field.get("x-measurement")
        if kind:
            assert field["type"] in ("number", "integer")
            assert KINDS[kind].low <= field["minimum"] < field["maximum"] <= KINDS[kind].high, name
        metric = field.get("x-metric")
        if metric:
            assert (field["type"], field["minimum"], field["maximum"]) == \
                {"nps": ("integer", 0, 10), "ces": ("integer", 1, 7)}[metric], name
    ui = path.with_name(path.name.replace(".json", ".ui.json"))
    if ui.is_file():
        order = json.loads(ui.read_text(encoding="utf-8")).get("ui:order", [])
        assert set(order) <= set(schema["properties"])


def test_the_end_questionnaire_asks_nps_and_ces():
    schema = json.loads((folder("painonhallinta") / "loppukysely.json").read_text(encoding="utf-8"))
    metrics = {f["x-metric"]: f["title"] for f in schema["properties"].values() if "x-metric" in f}
    assert metrics["nps"].startswith("Kuinka todennäköisesti suosittelisit")
    assert metrics["ces"] == "Palvelun käyttäminen oli helppoa."


@pytest.mark.parametrize("key", PACKAGES)
def test_consent_page_says_what_the_contract_asks(key):
    text = (folder(key) / "suostumus.md").read_text(encoding="utf-8")
    for needed in ("Mitä tietoja polulla kerätään?", "Kuka näkee tietosi?", "vapaaehtoista",
                   "perua suostumuksen milloin tahansa", "Peruminen päättää polun" if key != "diabetesriski"
                   else "polku päättyy", "**112**", "terveysasemalle"):
        assert needed in text, (key, needed)
    if key == "diabetesriski":
        assert "Tietosi näet vain sinä itse." in text
    else:
        assert "hoitotiimi" in text
    assert "<" not in text  # content pages are Markdown only, no raw HTML

