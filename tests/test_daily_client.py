"""A client's daily use: pathway text marked with its language on Swedish and English pages, dates and counts in
the reader's language, ending a pathway after a question, an access log of the others who looked, her data as a
page to read and print, and a diary entry corrected."""

import re
from datetime import UTC, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from orchestrator.care import diaries, enrolment, messaging
from orchestrator.core import queries, steps
from orchestrator.extensions import db
from orchestrator.models import DiaryEntry, Event, HumanTask, Instance
from orchestrator.web.filters import after_label, day, moment, when

from .helpers import deploy_all, open_task, text

FINDRISC = {"ika_pisteet": 3, "sukupuoli": "nainen", "pituus": 168, "paino": 82.5, "vyotaro": 90,
            "liikunta_pisteet": 2, "kasvikset_pisteet": 0, "verenpainelaake_pisteet": 0,
            "verensokeri_pisteet": 0, "suku_pisteet": 0}
START = {"tavoite": "Laihtua", "valmius": 8, "pituus": 170, "paino": 96, "vyotaro": 104}


@pytest.fixture
def on(ctx):
    """``on(key, **variables)``: Aino on that pathway, in the test's application context."""
    deploy_all()

    def start(key: str, **variables) -> Instance:
        return enrolment.join(queries.pathway_or_404(key).latest, "asiakas-123", "asiakas-123", "given", variables)
    return start


def in_language(web, lang: str):
    web.get(f"/lang/{lang}?next=/me")
    return web


def test_a_pathway_s_own_text_is_marked_finnish_on_swedish_and_english_pages_only(on, web_as):
    instance = on("painonhallinta", ruokapaivakirja=True, liikuntapaivakirja=True)
    task = open_task(instance.id, "aloituskysely")
    aino = web_as("asiakas-123")
    for lang in ("sv", "en"):
        in_language(aino, lang)
        mine = text(aino.get("/me"))
        assert f'<html lang="{lang}">' in mine
        assert f'href="/me/tasks/{task.id}" lang="fi">{task.title}</a>' in mine
        assert f'href="/me/pathways/{instance.id}" lang="fi">Painonhallinta' in mine
        page = text(aino.get(f"/me/pathways/{instance.id}"))
        assert '<h1 lang="fi">Painonhallinta' in page
        assert f'href="/me/tasks/{task.id}" lang="fi">{task.title}</a>' in page  # the timeline's tasks
        assert re.search(r'class="phase--current"><span lang="fi">[^<]+</span>', page)  # and its phases
        assert re.search(r'<h2 lang="fi">[^<]+</h2>', text(aino.get("/me/catalogue")))
    in_language(aino, "fi")
    assert ' lang="fi">' not in text(aino.get(f"/me/pathways/{instance.id}")).split("</header>")[1]


def test_english_dates_put_the_day_first_and_use_the_24_hour_clock(app, clock):
    at = datetime(2026, 12, 6, 13, 49, tzinfo=UTC)  # 15:49 in Helsinki
    clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    with app.test_request_context():
        with force_locale("en"):
            assert when(at, "short") == "6 Dec 2026, 15:49"
            assert when(at) == "6 Dec 2026, 15:49"
            assert day(at) == "6 Dec 2026"
            assert moment(at) == "Sun 6 Dec at 15:49"
            assert moment(datetime(2027, 1, 5, 6, 0, tzinfo=UTC)) == "Tue 5 Jan 2027 at 08:00"
        with force_locale("fi"):
            assert when(at, "short") == "6.12.2026 15.49"


def test_counts_on_the_client_s_pages_take_the_plural_their_number_needs(on, web_as):
    instance = on("painonhallinta", ruokapaivakirja=False, liikuntapaivakirja=False)
    aino = in_language(web_as("asiakas-123"), "en")
    assert "1 pathway ·" in text(aino.get("/me/print"))
    on("diabetesriski")
    assert "2 pathways ·" in text(aino.get("/me/print"))
    assert "replies within 2 working days" in text(aino.get(f"/me/pathways/{instance.id}/messages"))


def test_ending_a_self_care_pathway_asks_first(on, web_as):
    instance = on("diabetesriski")
    aino = web_as("asiakas-123")
    page = text(aino.get(f"/me/pathways/{instance.id}"))
    assert f'href="/me/pathways/{instance.id}/end"' in page
    assert f'action="/me/pathways/{instance.id}/end"' not in page, "one click never ends it"
    asked = text(aino.get(f"/me/pathways/{instance.id}/end"))
    assert f'action="/me/pathways/{instance.id}/end"' in asked and "Diabetesriski" in asked
    db.session.rollback()
    assert db.session.get(Instance, instance.id).status == "running", "asking ends nothing"
    assert aino.post(f"/me/pathways/{instance.id}/end", {}).status_code == 302
    db.session.rollback()
    assert db.session.get(Instance, instance.id).status == "cancelled"
    assert aino.get(f"/me/pathways/{instance.id}/end").status_code == 302, "an ended pathway asks nothing"


def test_the_access_log_lists_who_else_viewed_my_data_not_my_own_visits(on, web_as):
    instance = on("painonhallinta", ruokapaivakirja=False, liikuntapaivakirja=False)
    aino, hanna = web_as("asiakas-123"), web_as("hoitaja.virtanen")
    aino.get(f"/me/pathways/{instance.id}")
    assert "Nobody else has viewed" in text(in_language(aino, "en").get("/me/access-log"))
    assert hanna.get(f"/work/pathways/{instance.id}").status_code == 200
    log = text(aino.get("/me/access-log")).split("<tbody>")[1]
    assert '<span class="card-label">Who: </span>Hanna Virtanen</td>' in log and "Aino" not in log


def test_my_data_to_print_shows_answers_in_words_measurements_and_messages(on, web_as):
    risk = on("diabetesriski")
    steps.complete(open_task(risk.id, "lue_diabetes").id, {}, "asiakas-123")
    steps.complete(open_task(risk.id, "findrisc_testi").id, FINDRISC, "asiakas-123")
    weight = on("painonhallinta", ruokapaivakirja=False, liikuntapaivakirja=False)
    steps.complete(open_task(weight.id, "aloituskysely").id, START, "asiakas-123")
    messaging.send(db.session.get(Instance, weight.id), "client", "asiakas-123", "Aino", "Voinko syödä puuroa?")
    aino = in_language(web_as("asiakas-123"), "sv")
    page = text(aino.get("/me/print"))
    assert '<dd lang="fi">55–64 vuotta – 3 pistettä</dd>' in page, "an option by its title, not its code"
    assert '<dt lang="fi">Paino</dt><dd>82,5 kg</dd>' in page
    assert "Voinko syödä puuroa?" in page
    assert '<td>Vikt</td><td>96 kg</td>' in page, "the measurement the start questionnaire recorded, named in Swedish"
    assert "print-view" in page
    assert 'href="/me/print"' in text(aino.get("/me"))


def test_a_diary_entry_is_corrected_while_the_diary_is_open(on, web_as):
    instance = on("painonhallinta", ruokapaivakirja=True, liikuntapaivakirja=False)
    steps.complete(open_task(instance.id, "aloituskysely").id, START, "asiakas-123")
    diary = open_task(instance.id, "ruokapaivakirja")
    aino = web_as("asiakas-123")
    assert aino.post(f"/me/tasks/{diary.id}", {"action": "entry", "ateria": "lounas",
                                               "mita_soin": "Keittoa"}).status_code == 302
    entry = db.session.scalars(select(DiaryEntry)).one()
    url = f"/me/tasks/{diary.id}/entries/{entry.id}"
    assert f'href="{url}"' in text(aino.get(f"/me/tasks/{diary.id}"))
    form = text(aino.get(url))
    assert "Keittoa" in form and 'value="lounas" checked' in form
    wrong = aino.post(url, {"ateria": "brunssi", "mita_soin": "Keittoa"})
    assert wrong.status_code == 422
    assert aino.post(url, {"ateria": "paivallinen", "mita_soin": "Keittoa ja leipää"}).status_code == 302
    db.session.rollback()
    assert db.session.get(DiaryEntry, entry.id).data == {"ateria": "paivallinen", "mita_soin": "Keittoa ja leipää"}
    (event,) = db.session.scalars(select(Event).where(Event.kind == "diary_entry_corrected")).all()
    assert event.data["before"]["mita_soin"] == "Keittoa"
    assert web_as("asiakas-456").get(url).status_code == 404, "only the one who wrote it"
    assert aino.post(f"/me/tasks/{diary.id}", {"action": "done"}).status_code == 302
    assert aino.get(url).status_code == 409, "an ended diary is not corrected"
    assert diaries.written_by(db.session.get(HumanTask, diary.id), entry.id, "asiakas-999") is None


def test_a_new_message_from_the_team_links_to_the_conversation(on, web_as):
    instance = on("painonhallinta", ruokapaivakirja=False, liikuntapaivakirja=False)
    messaging.send(db.session.get(Instance, instance.id), "professional", "hoitaja.virtanen", "Hanna Virtanen",
                   "Hei Aino!", {"Hoitaja"})
    page = text(web_as("asiakas-123").get("/me"))
    assert re.search(rf'<a href="/me/pathways/{instance.id}/messages"><span>Uusi viesti hoitotiimiltä', page)


def test_an_error_line_never_doubles_the_label_s_own_punctuation():
    assert after_label("Mitä oireita sinulla on?", "Kirjoita vastaus.") == " Kirjoita vastaus."
    assert after_label("Paino", "Kirjoita luku.") == ": Kirjoita luku."
    assert after_label("", "Kirjoita luku.") == ": Kirjoita luku."


def test_waiting_for_lists_only_the_messages_the_instance_can_take_now(api, sample):
    from .conftest import ANSWERS

    started = api.start(business_key="asiakas-1:esitieto", client_id="010101-123N")
    assert started["waiting_for"] == [], "the lab result is not awaited before the nurse asks for it"
    done = api.complete(started["tasks"][0]["id"], ANSWERS["esitietolomake"]).json
    assert done["waiting_for"] == []
    review = next(t for t in done["tasks"] if t["spec"] == "hoitajan_arvio")
    assert api.complete(review["id"], ANSWERS["hoitajan_arvio_lab"]).json["waiting_for"] == ["lab_result_ready"]
    assert api.get(f"/api/v1/instances/{started['id']}").json["waiting_for"] == ["lab_result_ready"]
