"""Answers in words and steps without questions, as people see them in Debian's Chromium: the client sends the
diabetes risk test and lands on its result, a step with one button; what she sent reads as the options' titles
and her own number format; the nurse reads the client's answers the same way. axe-core finds nothing on any of it."""

import re

import pytest
from playwright.sync_api import expect

from orchestrator.care import enrolment
from orchestrator.core import queries, steps
from orchestrator.extensions import db

from .browser import LANGUAGES, chromium, served, signed_in, submit, wcag_violations
from .helpers import deploy_all, open_task

DECIMAL = {"fi": "82,5", "sv": "82,5", "en": "82.5"}


@pytest.fixture
def aino(app):
    """Aino at the diabetes risk test, with the weight-management start questionnaire and the pre-visit form sent."""
    with app.app_context():
        deploy_all()
        join = lambda key, **variables: enrolment.join(queries.pathway_or_404(key).latest, "asiakas-123",  # noqa: E731
                                                       "asiakas-123", "given", variables)
        diabetes, weight, visit = join("diabetesriski"), join("painonhallinta", ruokapaivakirja=True,
                                                              liikuntapaivakirja=False), join("esitieto")
        steps.complete(open_task(diabetes.id, "lue_diabetes").id, {}, "asiakas-123")
        steps.complete(open_task(weight.id, "aloituskysely").id,
                       {"tavoite": "Laihtua", "valmius": 8, "ateriat_paivassa": "3-4", "liikunta_viikossa": "alle-1h",
                        "pituus": 170, "paino": 96, "vyotaro": 104}, "asiakas-123")
        steps.complete(open_task(visit.id, "esitietolomake").id,
                       {"oireet": "Yskä", "kesto_paivia": 3, "kipu": 4, "laakitys": True, "paino_kg": 82.5},
                       "asiakas-123")
        found = {"test": open_task(diabetes.id, "findrisc_testi").id, "weight": weight.id,
                 "review": open_task(visit.id, "hoitajan_arvio").id}
        db.session.remove()
        return found


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_client_sends_the_test_lands_on_its_result_and_reads_what_she_sent_in_words(app, aino, lang):
    found = []
    with served(app) as base, chromium() as browser:
        page = signed_in(browser, base, "asiakas-123", lang)
        page.goto(f"{base}/me/tasks/{aino['test']}")
        for name, value in (("ika_pisteet", "3"), ("sukupuoli", "nainen"), ("liikunta_pisteet", "2"),
                            ("kasvikset_pisteet", "0"), ("verenpainelaake_pisteet", "0"),
                            ("verensokeri_pisteet", "0"), ("suku_pisteet", "0")):
            page.locator(f"input[name={name}][value='{value}']").check()
        page.locator("#f-pituus").fill("168")
        page.locator("#f-paino").fill(DECIMAL[lang])
        page.locator("#f-vyotaro").fill("90")
        submit(page, "button[name=action][value=send]")

        assert "?sent=1" in page.url and f"/me/tasks/{aino['test']}" not in page.url, "on to the result"
        expect(page.locator("h1")).to_have_text("Katso testin tulos")
        expect(page.locator("[role=status]")).to_be_visible()
        expect(page.locator("main button[type=submit]")).to_have_count(1)  # one action, no draft, no "send"
        expect(page.locator("button[value=draft]")).to_have_count(0)
        expect(page.locator("main input:not([type=hidden]), main textarea, main select")).to_have_count(0)
        found.extend(wcag_violations(page))
        result = page.url
        submit(page, "main button[type=submit]")
        page.goto(result.split("?")[0])
        expect(page.locator("main button[type=submit]")).to_have_count(0)  # done: nothing more to press
        found.extend(wcag_violations(page))

        page.goto(f"{base}/me/tasks/{aino['test']}")
        sent = page.locator("dl.answers")
        expect(sent).to_contain_text("55–64 vuotta – 3 pistettä")
        expect(sent).to_contain_text("Ei – 2 pistettä")
        expect(sent).to_contain_text(f"{DECIMAL[lang]} kg")
        expect(sent.locator("dd").filter(has_text=re.compile(r"^\s*3\s*$"))).to_have_count(0)  # not the code
        found.extend(wcag_violations(page))
    assert found == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_nurse_reads_the_client_s_answers_by_their_titles(app, aino, lang):
    found = []
    with served(app) as base, chromium() as browser:
        page = signed_in(browser, base, "hoitaja.virtanen", lang)
        page.goto(f"{base}/work/tasks/{aino['review']}")
        earlier = page.locator("dl.answers").first
        expect(earlier).to_contain_text({"fi": "Kyllä", "sv": "Ja", "en": "Yes"}[lang])
        expect(earlier).to_contain_text(f"{DECIMAL[lang]} kg")
        expect(earlier).not_to_contain_text("True")
        found.extend(wcag_violations(page))
        page.goto(f"{base}/work/pathways/{aino['weight']}")
        answers = page.locator("dl.answers").first
        expect(answers).to_contain_text("3–4 kertaa")
        expect(answers).to_contain_text("Alle tunnin viikossa")
        expect(answers).not_to_contain_text("alle-1h")
        found.extend(wcag_violations(page))
    assert found == []
