"""Answers in words: a choice reads as the option's title, yes or no in the reader's language, a number written
their way with its unit, on every page that shows sent answers and in the FHIR export; a step without questions
has one button, and sending a test leads on to its result."""

import json
import re

import pytest
from flask_babel import force_locale

from orchestrator.care import diaries, enrolment, observations
from orchestrator.clock import now
from orchestrator.core import queries, steps
from orchestrator.core.answers import form_of
from orchestrator.extensions import db
from orchestrator.models import Instance
from orchestrator.web.answers import in_words

from .conftest import ANSWERS
from .helpers import deploy_all, open_task, text

FINDRISC = {"ika_pisteet": 3, "sukupuoli": "nainen", "pituus": 168, "paino": 82.5, "vyotaro": 90,
            "liikunta_pisteet": 2, "kasvikset_pisteet": 0, "verenpainelaake_pisteet": 0,
            "verensokeri_pisteet": 0, "suku_pisteet": 0}
START = {"tavoite": "Laihtua\nja jaksaa", "valmius": 8, "ateriat_paivassa": "3-4", "kasvikset_paivittain": True,
         "liikunta_viikossa": "alle-1h", "pituus": 170, "paino": 82.5, "vyotaro": 104}


@pytest.fixture
def on(ctx):
    """``on(key, **variables)``: Aino on that pathway."""
    deploy_all()
    return lambda key, **variables: enrolment.join(queries.pathway_or_404(key).latest, "asiakas-123", "asiakas-123",
                                                   "given", variables)


def answer_lists(page: str) -> str:
    """What the page's lists of answers say (the forms on it name their options' stored values)."""
    return " ".join(re.findall(r'<dl class="answers">(.*?)</dl>', page))


def words(task, answers: dict, lang: str) -> dict[str, str]:
    with force_locale(lang):
        return {a.name: a.text for a in in_words(form_of(task), answers)}


@pytest.mark.parametrize(("lang", "weight", "yes"), [("fi", "82,5 kg", "Kyllä"), ("sv", "82,5 kg", "Ja"),
                                                     ("en", "82.5 kg", "Yes")])
def test_an_answer_reads_as_the_option_chosen_and_a_number_as_the_reader_writes_it(on, lang, weight, yes):
    weight_management = on("painonhallinta", ruokapaivakirja=True, liikuntapaivakirja=False)
    shown = words(open_task(weight_management.id, "aloituskysely"), START, lang)
    assert shown == {"tavoite": "Laihtua\nja jaksaa", "valmius": "8", "ateriat_paivassa": "3–4 kertaa",
                     "kasvikset_paivittain": yes, "liikunta_viikossa": "Alle tunnin viikossa",
                     "pituus": "170 cm", "paino": weight, "vyotaro": "104 cm"}
    findrisc = open_task(on("diabetesriski").id, "lue_diabetes")
    steps.complete(findrisc.id, {}, "asiakas-123")
    test = open_task(findrisc.instance_id, "findrisc_testi")
    shown = words(test, FINDRISC, lang)
    assert (shown["ika_pisteet"], shown["liikunta_pisteet"], shown["sukupuoli"]) == \
        ("55–64 vuotta – 3 pistettä", "Ei – 2 pistettä", "Nainen")
    assert list(shown)[:3] == ["ika_pisteet", "sukupuoli", "pituus"]  # in the form's order


def test_an_answer_the_form_does_not_ask_is_shown_under_its_name_in_the_reader_s_way(on):
    task = open_task(on("painonhallinta").id, "aloituskysely")
    with force_locale("fi"):
        extra = in_words(form_of(task), {"vanha_kysymys": [1.5, False], "valmius": None})
    assert [(a.question, a.text) for a in extra] == [("vanha_kysymys", "1,5, Ei")]


def test_the_client_s_sent_page_and_the_team_s_pages_show_the_option_titles(on, web_as, app):
    weight_management = on("painonhallinta", ruokapaivakirja=True, liikuntapaivakirja=False)
    start = open_task(weight_management.id, "aloituskysely")
    steps.complete(start.id, START, "asiakas-123")
    diary = open_task(weight_management.id, "ruokapaivakirja")
    diaries.add(diary, "food", {"ateria": "paivallinen", "mita_soin": "Keittoa", "kasvikset": False}, "asiakas-123")
    aino = web_as("asiakas-123")
    sent = answer_lists(text(aino.get(f"/me/tasks/{start.id}")))  # the page's addresses hold random identifiers
    for shown in ("3–4 kertaa", "Alle tunnin viikossa", "82,5 kg", "Kyllä", "Laihtua<br>ja jaksaa"):
        assert shown in sent
    assert "3-4" not in sent and "alle-1h" not in sent and "82.5" not in sent
    assert "Päivällinen" in text(aino.get(f"/me/tasks/{diary.id}")) and "Ei" in text(aino.get(f"/me/tasks/{diary.id}"))
    team = text(web_as("hoitaja.virtanen").get(f"/work/pathways/{weight_management.id}"))
    assert "3–4 kertaa" in team and "82,5 kg" in team and "Päivällinen" in team and "paivallinen" not in team


def test_the_nurse_reads_her_own_choice_and_the_client_s_answers_in_words_on_the_task_page(on, web_as, api):
    pressure = on("verenpaine")
    steps.complete(open_task(pressure.id, "mittausohje").id, {}, "asiakas-123")
    for reading in ((168, 104), (170, 105)):
        db.session.rollback()
        observations.record(db.session.get(Instance, pressure.id), dict(zip(("systolic", "diastolic"), reading,
                                                                            strict=True)), now(), "asiakas-123", now())
    first, *_ = [t for t in queries.instance_human_tasks(pressure.id) if t.spec == "kohonneet_arvot"]
    hanna = web_as("hoitaja.virtanen")
    assert hanna.post(f"/work/tasks/{first.id}", {"toimenpide": "yhteydenotto", "kirjaus": "Soitan huomenna.",
                                                   "action": "send"}).status_code == 302
    second = open_task(pressure.id, "kohonneet_arvot")
    earlier = answer_lists(text(hanna.get(f"/work/tasks/{second.id}")))
    assert "Otan yhteyttä asiakkaaseen" in earlier and "yhteydenotto" not in earlier
    assert "Otan yhteyttä asiakkaaseen" in text(hanna.get(f"/work/tasks/{first.id}"))  # her own, sent


def test_the_nurse_reads_the_pre_visit_answers_with_yes_no_and_decimals_in_words(sample, api, web_as, ctx):
    started = api.start("esitieto", client_id="asiakas-123")
    api.complete(started["tasks"][0]["id"], {**ANSWERS["esitietolomake"], "laakitys": True, "paino_kg": 82.5})
    review = open_task(started["id"], "hoitajan_arvio")
    page = text(web_as("hoitaja.virtanen").get(f"/work/tasks/{review.id}"))
    assert "Käytätkö säännöllisesti lääkkeitä?</dt> <dd>Kyllä</dd>" in page and "82,5 kg" in page


def test_a_step_without_questions_has_one_button_and_sending_the_test_leads_to_its_result(on, web_as):
    findrisc = open_task(on("diabetesriski").id, "lue_diabetes")
    steps.complete(findrisc.id, {}, "asiakas-123")
    test = open_task(findrisc.instance_id, "findrisc_testi")
    aino = web_as("asiakas-123")
    form = text(aino.get(f"/me/tasks/{test.id}"))
    assert 'value="send"' in form and 'value="draft"' in form
    posted = aino.post(f"/me/tasks/{test.id}", {**{k: str(v).replace(".", ",") for k, v in FINDRISC.items()},
                                                "action": "send"})
    result = open_task(findrisc.instance_id, "tulos")
    assert posted.status_code == 302 and posted.headers["Location"] == f"/me/tasks/{result.id}?sent=1"
    page = text(aino.get(posted.headers["Location"]))
    assert "Kiitos! Vastauksesi on lähetetty." in page or "Thank you! Your answers have been sent." in page
    assert page.count('type="submit" name="action"') == 1 and 'value="draft"' not in page
    assert "Diabetesriskitestin tulos" in page
    done = aino.post(f"/me/tasks/{result.id}", {"action": "send"})  # its step opens a content page: she stays
    assert done.status_code == 302 and done.headers["Location"] == f"/me/tasks/{result.id}?done=1"
    after = text(aino.get(done.headers["Location"]))
    assert "Lähetä" not in after.split("</h1>")[1]
    (reading,) = [t for t in queries.instance_human_tasks(findrisc.instance_id) if t.state == "open"]
    assert reading.spec.startswith("lue_") and f'<a href="/me/tasks/{reading.id}">{reading.title}</a>' in after


def test_the_fhir_export_codes_a_choice_and_shows_its_title(on, web_as):
    weight_management = on("painonhallinta", ruokapaivakirja=True, liikuntapaivakirja=False)
    steps.complete(open_task(weight_management.id, "aloituskysely").id, START, "asiakas-123")
    data = json.loads(web_as("asiakas-123").get("/me/export").get_data(as_text=True))
    (response,) = [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse"]
    items = {item["linkId"]: item for item in response["item"]}
    assert items["ateriat_paivassa"]["answer"] == [{"valueCoding": {"code": "3-4", "display": "3–4 kertaa"}}]
    assert items["paino"]["answer"] == [{"valueDecimal": 82.5}]
    assert items["kasvikset_paivittain"]["answer"] == [{"valueBoolean": True}]
    assert items["ateriat_paivassa"]["text"] == "Kuinka monta kertaa päivässä syöt yleensä?"
