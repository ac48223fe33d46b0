"""Pathway texts match the pathway: a consent page states the pathway's real length (and deploy refuses
one that states another), and the FINDRISC test's texts state the questions, points and timing it has."""

import json
import re
from pathlib import Path

import pytest
from lxml import etree

from orchestrator.engine import PackageInvalid, settings, texts
from orchestrator.engine.metadata import process_properties
from orchestrator.engine.validate import check_texts
from orchestrator.tools import deploy

from .conftest import ROOT
from .helpers import PROPERTIES, SAMPLE, package

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
      "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/"}
PATHWAYS = sorted(p.parent.name for p in (ROOT / "bpmn").glob("*/*.bpmn"))
DIABETES = ROOT / "bpmn" / "diabetesriski"


def main_process(folder: Path) -> tuple[str, etree._Element]:
    (path,) = folder.glob("*.bpmn")
    (process,) = etree.parse(str(path)).iterfind("bpmn:process[@isExecutable='true']", NS)
    return path.name, process


def pathway_settings(folder: Path) -> tuple[dict, dict[str, str], str | None]:
    """The pathway's settings as deploy reads them, its pages and its name."""
    pages = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.md")}
    filename, process = main_process(folder)
    kind = process_properties(process).get("pathwayKind", "professional")
    found, problems = settings.read(process, filename, kind, set(pages))
    assert problems == []
    return found, pages, process.get("name")


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


# --------------------------------------------------------------------------- the four pathways


def test_every_pathway_is_read():
    assert PATHWAYS == ["diabetesriski", "esitieto", "painonhallinta", "verenpaine"]


@pytest.mark.parametrize("key", PATHWAYS)
def test_the_consent_page_states_the_pathways_duration(key):
    found, pages, name = pathway_settings(ROOT / "bpmn" / key)
    assert found["duration"] and found["consent"] in pages
    stated = texts.stated_lengths(pages[found["consent"]], name)
    assert stated, f"{key}/{found['consent']} does not say how long the pathway lasts"
    real = texts.duration_days(found["duration"])
    assert [s.text for s in stated if not overlaps(s.days, real)] == [], (key, found["duration"])
    assert check_texts(found, pages, name) == []


# --------------------------------------------------------------------------- FINDRISC


def findrisc_form() -> dict:
    return json.loads((DIABETES / "findrisc.json").read_text(encoding="utf-8"))


def bpmn_tree() -> etree._ElementTree:
    return etree.parse(str(DIABETES / "diabetesriski.bpmn"))


def client_texts() -> dict[str, str]:
    """Every text of the diabetes risk pathway a client reads, by where it is."""
    found = {p.name: p.read_text(encoding="utf-8") for p in DIABETES.glob("*.md")}
    tree = bpmn_tree()
    for node in tree.iter("{*}instructionsForEndUser"):
        found[f"instructions of {node.getparent().getparent().get('id')}"] = node.text or ""
    for node in tree.iterfind(".//spiffworkflow:property[@name='reminder']", NS):
        found[f"reminder of {node.getparent().getparent().getparent().get('id')}"] = node.get("value")
    for node in tree.iterfind(".//bpmn:process//*[@name]", NS):
        if etree.QName(node).namespace == NS["bpmn"]:  # a task's, an event's or a flow's name, not a property's
            found[f"name of {node.get('id')}"] = node.get("name")
    for path in DIABETES.glob("*.json"):
        found.update(form_strings(json.loads(path.read_text(encoding="utf-8")), path.name))
    return found


def form_strings(value, where: str) -> dict[str, str]:
    """The titles, descriptions and help texts of a form (or its UI schema), by their path in it."""
    found = {}
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        if key in ("title", "description", "ui:help") and isinstance(item, str):
            found[f"{where} {key}"] = item
        else:
            found.update(form_strings(item, f"{where}/{key}"))
    return found


QUESTIONS = re.compile(r"(\w+)\s+kysymy\w*", re.IGNORECASE)


def stated_question_counts(text: str) -> list[tuple[str, float]]:
    """Each "N kysymystä" / "N:ään kysymykseen" of a text whose N is a number, as written and as a number."""
    return [(m.group(0), texts.number(m.group(1))) for m in QUESTIONS.finditer(text)
            if texts.number(m.group(1)) is not None]


def test_the_findrisc_texts_state_the_number_of_questions_the_form_asks():
    form = findrisc_form()
    asked = len(form["properties"])  # every field is a question the client answers, measurements included
    assert set(form["required"]) == set(form["properties"])
    statements = {where: stated_question_counts(text) for where, text in client_texts().items()}
    statements = {where: found for where, found in statements.items() if found}
    assert "instructions of findrisc_testi" in statements, "the test's instructions should say how many questions"
    wrong = {where: found for where, found in statements.items() if any(n != asked for _, n in found)}
    assert wrong == {}, f"the form asks {asked} questions"


def test_question_counts_are_read_in_finnish_words():
    assert stated_question_counts("Vastaa kymmeneen kysymykseen. Testissä on 8 kysymystä.") == \
        [("kymmeneen kysymykseen", 10), ("8 kysymystä", 8)]
    assert stated_question_counts("Vastaa kaikkiin kysymyksiin.") == []


def decision(name: str) -> etree._Element:
    return etree.parse(str(DIABETES / f"{name}.dmn")).find(".//dmn:decisionTable", NS)


def rules(table: etree._Element) -> list[tuple[list[str], list[str]]]:
    return [([e.findtext("dmn:text", namespaces=NS).strip() for e in rule.iterfind("dmn:inputEntry", NS)],
             [e.findtext("dmn:text", namespaces=NS).strip() for e in rule.iterfind("dmn:outputEntry", NS)])
            for rule in table.iterfind("dmn:rule", NS)]


def in_finnish(entry: str, points: str) -> str:
    """A DMN rule as the form's description states it: "alle 25 – 0 pistettä", "25–30 – 1 piste"."""
    if match := re.fullmatch(r"<\s*([\d.]+)", entry):
        limit = f"alle {match[1]}"
    elif match := re.fullmatch(r">\s*([\d.]+)", entry):
        limit = f"yli {match[1]}"
    else:
        low, high = re.fullmatch(r"([\d.]+)\s*<=\s*\?\s*<=\s*([\d.]+)", entry).groups()
        limit = f"{low}–{high}"
    return f"{limit} – {points} {'piste' if points == '1' else 'pistettä'}"


def test_the_bmi_and_waist_points_the_form_states_are_the_decision_tables():
    fields = findrisc_form()["properties"]
    bmi = ", ".join(in_finnish(entries[0], outputs[0]) for entries, outputs in rules(decision("findrisc_bmi")))
    assert bmi == "alle 25 – 0 pistettä, 25–30 – 1 piste, yli 30 – 3 pistettä"
    assert bmi in fields["pituus"]["description"]
    waist = rules(decision("findrisc_vyotaro"))
    for sex, label in (('"nainen"', "Naiset"), ('"mies"', "Miehet")):
        stated = ", ".join(in_finnish(entries[1], outputs[0]) for entries, outputs in waist if entries[0] == sex)
        assert f"{label}: {stated}." in fields["vyotaro"]["description"]


def test_the_result_states_the_highest_score_the_test_can_give():
    fields = findrisc_form()["properties"]
    answered = sum(max(option["const"] for option in field["oneOf"]) for name, field in fields.items()
                   if name.endswith("_pisteet"))
    computed = sum(max(int(outputs[0]) for _, outputs in rules(decision(name)))
                   for name in ("findrisc_bmi", "findrisc_vyotaro"))
    script = bpmn_tree().find(".//bpmn:scriptTask[@id='pisteiden_summa']/bpmn:script", NS).text
    assert len(script.split("=", 1)[1].split("+")) == len([n for n in fields if n.endswith("_pisteet")]) + 2
    assert f"Suurin mahdollinen pistemäärä on {answered + computed}." in client_texts()["instructions of tulos"]
    bands = rules(decision("findrisc_tulos"))
    assert bands[-1][0] == ["> 20"] and answered + computed > 20  # the top band can be reached


TIMER_NAME = re.compile(r"(\w+) (päivän|viikon|kuukauden) kuluttua", re.IGNORECASE)
UNIT = {"päivän": "D", "viikon": "W", "kuukauden": "M"}


def test_the_repeat_test_comes_when_the_texts_say():
    tree = bpmn_tree()
    timer = waited(tree.find(".//bpmn:intermediateCatchEvent[@id='kolme_kuukautta']", NS))
    months = int(re.fullmatch(r"P(\d+)M", timer)[1])
    said = [(where, m.group(0)) for where, text in client_texts().items()
            for m in re.finditer(r"(\w+) (?:kuukauden kuluttua|kuukautta on kulunut)", text, re.IGNORECASE)]
    assert len(said) >= 4  # consent, the retest question and its form, the reminder
    assert [(w, s) for w, s in said if texts.number(s.split()[0]) != months] == []
    phases = process_properties(main_process(DIABETES)[1])["phases"]
    assert f"P{months}M Uusintatesti" in phases


def test_each_timer_named_for_its_wait_waits_that_long():
    named = {event.get("id"): (TIMER_NAME.search(event.get("name") or ""), waited(event))
             for event in bpmn_tree().iterfind(".//bpmn:process/*[bpmn:timerEventDefinition]", NS)}
    assert {key for key, (name, _) in named.items() if name} == {"muistutus_testi", "kolme_kuukautta"}
    for key, (name, duration) in named.items():
        if name:
            assert duration == f"P{texts.number(name[1]):g}{UNIT[name[2].lower()]}", key


def waited(event) -> str:
    """How long a timer waits: its literal duration, or the ``after`` of a ``next_at`` (the next clock time
    once that much has passed)."""
    expression = (event.find(".//bpmn:timeDuration", NS) if event.find(".//bpmn:timeDuration", NS) is not None
                  else event.find(".//bpmn:timeDate", NS)).text.strip()
    found = re.fullmatch(r'"(P\w+)"', expression) or re.search(r'after="(P\w+)"', expression)
    assert found, expression
    return found[1]


# --------------------------------------------------------------------------- the deploy check


def sample_settings(duration: str | None) -> dict:
    """The sample pathway's settings, as deploy reads them, with another duration (or none)."""
    bpmn = SAMPLE.replace(PROPERTIES, f'<spiffworkflow:property name="duration" value="{duration}" />'
                          if duration else "")
    (process,) = etree.fromstring(bpmn.encode()).iterfind("bpmn:process", NS)
    found, problems = settings.read(process, "esitieto.bpmn", "professional", {"suostumus.md"})
    assert problems == []
    return found


def consent_problems(page: str, duration: str | None = "P3W", name: str | None = None) -> list[str]:
    return [str(p) for p in check_texts(sample_settings(duration), {"suostumus.md": page}, name)]


def test_a_consent_page_that_says_two_weeks_of_a_three_week_pathway_is_refused():
    page = "## Suostumus\n\nTällä polulla kerrot esitiedot. Polku kestää 2 viikkoa.\n"
    assert consent_problems(page) == [
        'suostumus.md:3: the text says "2 viikkoa" but the pathway\'s duration is P3W (21 days)']


def test_a_consent_page_that_says_three_weeks_in_words_is_accepted():
    assert consent_problems("Polku kestää kolme viikkoa.") == []


@pytest.mark.parametrize(("page", "duration"), [
    ("Polku kestää 12 viikon ajan.", "P12W"),
    ("Painonhallinnan polku on 12 viikon valmennus.", "P12W"),
    ("Polku on käytössäsi kahdentoista viikon ajan.", "P12W"),
    ("Polun kesto on 3 kuukautta.", "P3M"),
    ("Polku kestää noin 13 viikkoa.", "P3M"),  # three months are 90–93 days; 13 weeks 91
    ("**Kesto:** 21 päivää", "P3W"),
    ("Polku kestää 2–3 viikkoa.", "P3W"),
    ("Stigen varar i tre veckor.", "P3W"),
    ("Det här är en tolv veckors vårdstig.", "P12W"),
    ("The pathway lasts 12 weeks.", "P12W"),
    ("The pathway lasts for about three weeks.", "P3W"),
    ("This is a 12-week programme.", "P12W"),
    ("The pathway is three weeks long.", "P3W"),
])
def test_a_length_stated_in_finnish_swedish_or_english_agrees(page, duration):
    assert len(texts.stated_lengths(page)) == 1, page
    assert consent_problems(page, duration) == []


@pytest.mark.parametrize(("page", "duration", "said"), [
    ("Polku kestää kolme kuukautta.", "P12W", "kolme kuukautta"),
    ("Polku kestää 12 viikkoa.", "P3M", "12 viikkoa"),
    ("Stigen varar i två veckor.", "P3W", "två veckor"),
    ("The pathway lasts twelve weeks.", "P3W", "twelve weeks"),
    ("Polku kestää viikon.", "P3W", "viikon"),
])
def test_a_length_stated_in_finnish_swedish_or_english_that_differs_is_named(page, duration, said):
    (problem,) = consent_problems(page, duration)
    assert f'the text says "{said}"' in problem and f"duration is {duration} (" in problem


def test_other_numbers_of_the_text_are_not_the_pathways_length():
    page = ("Polku kestää kolme viikkoa. Hoitaja vastaa kahden arkipäivän kuluessa.\n"
            "- mittaat verenpaineesi aamuin ja illoin 7 päivän ajan\n"
            "- pidät ruokapäiväkirjaa kahden ensimmäisen viikon ajan\n"
            "Polulla mittaat seitsemän päivän ajan. Voit tehdä testin uudelleen kolmen kuukauden kuluttua.\n"
            "Mittausjakso kestää viikon. Polku kestää muutaman viikon. Tämän viikon valmennus käsittelee ruokaa.\n"
            "Polku muistuttaa sinua 2 päivän kuluttua. Mittaus kestää 5 minuuttia.\n")
    assert [s.text for s in texts.stated_lengths(page)] == ["kolme viikkoa"]
    assert consent_problems(page) == []


def test_a_page_that_states_no_length_gives_no_problem():
    assert consent_problems("## Suostumus\n\nOsallistuminen on vapaaehtoista. Hätätilanteessa soita 112.") == []


def test_the_pathways_own_name_stands_for_the_pathway():
    page = "Verenpaineen kotiseuranta kestää noin kaksi viikkoa."
    assert consent_problems(page) == []  # "kotiseuranta" alone could be a part of a pathway
    assert consent_problems(page, name="Verenpaineen kotiseuranta") == [
        'suostumus.md:1: the text says "kaksi viikkoa" but the pathway\'s duration is P3W (21 days)']


def test_a_length_on_a_pathway_without_a_duration_is_named_and_a_wrong_duration_left_to_the_settings():
    assert consent_problems("Polku kestää kolme viikkoa.", None) == [
        'suostumus.md:1: the text says "kolme viikkoa" but the pathway has no duration setting']
    assert check_texts({"duration": "3 viikkoa", "consent": "suostumus.md"},
                       {"suostumus.md": "Polku kestää kolme viikkoa."}) == []
    assert check_texts({"duration": "P3W", "consent": None}, {"suostumus.md": "Polku kestää viikon."}) == []


def test_durations_are_counted_in_days():
    assert texts.duration_days("P3W") == (21, 21)
    assert texts.duration_days("P3M") == (90, 93)
    assert texts.duration_days("P1Y2W") == (379, 380)
    assert texts.duration_days("P1DT12H") == (1.5, 1.5)


def with_consent(page: str, duration: str):
    return package(replace=(PROPERTIES, f'<spiffworkflow:property name="duration" value="{duration}" />'),
                   files={"suostumus.md": page.encode()})


def test_deploy_takes_a_consent_page_that_states_the_duration(ctx):
    (deployed,) = deploy.deploy([with_consent("Polku kestää kolme viikkoa.", "P3W")], "tester")
    assert deployed.version.settings["duration"] == "P3W"


def test_deploy_refuses_a_consent_page_that_states_another_duration(ctx):
    with pytest.raises(PackageInvalid) as refused:
        deploy.deploy([with_consent("Polku kestää 2 viikkoa.", "P3W")], "tester")
    assert [str(p) for p in refused.value.problems] == [
        'asetukset/suostumus.md:1: the text says "2 viikkoa" but the pathway\'s duration is P3W (21 days)']
