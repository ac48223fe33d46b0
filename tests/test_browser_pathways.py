"""The care-pathway pages in Debian's Chromium: measurement charts render under the page's own
Content-Security-Policy, and axe-core finds no WCAG 2.1 A/AA violation on any of the new pages."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from orchestrator.auth import demo
from orchestrator.care import diaries, enrolment, observations, staff_surveys
from orchestrator.clock import now
from orchestrator.core import queries
from orchestrator.extensions import db
from orchestrator.models import HumanTask, Instance

from .browser import LANGUAGES, chromium, served, signed_in, submit, wcag_violations
from .helpers import deploy_all


def version(key: str):
    return queries.pathway_or_404(key).latest


def open_task(instance_id: int, spec: str) -> HumanTask:
    db.session.rollback()
    return db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.spec == spec,
                                                      HumanTask.state == "open")).one()


@pytest.fixture
def pathways(app, api):
    """Aino on the blood-pressure pathway with measurements and messages, on weight management with a
    food diary, on the diabetes self-care pathway at its first content page, and with an offer waiting."""
    with app.app_context():
        deploy_all()
        pressure = enrolment.join(version("verenpaine"), "asiakas-123", "asiakas-123", "given")
        weight = enrolment.join(version("painonhallinta"), "asiakas-123", "asiakas-123", "given",
                                {"ruokapaivakirja": True, "liikuntapaivakirja": False})
        diabetes = enrolment.join(version("diabetesriski"), "asiakas-123", "asiakas-123", "given")
        enrolment.offer(version("esitieto"), "asiakas-123", set(), "hoitaja.virtanen")
        assert api.complete(open_task(pressure.id, "mittausohje").id, {}).status_code == 200
        db.session.rollback()
        for day, (systolic, diastolic) in enumerate(((128, 82), (142, 90), (131, 84))):
            at = now() - timedelta(days=3 - day)
            observations.record(db.session.get(Instance, pressure.id), {"systolic": systolic, "diastolic": diastolic},
                                at, "asiakas-123", at)
        assert api.complete(open_task(weight.id, "aloituskysely").id,
                            {"tavoite": "Laihtua", "valmius": 8, "pituus": 170, "paino": 96, "vyotaro": 104}
                            ).status_code == 200
        diary = open_task(weight.id, "ruokapaivakirja")
        diaries.add(diary, "food", {"ateria": "lounas", "mita_soin": "Kalakeittoa ja ruisleipää"}, "asiakas-123")
        return {"pressure": pressure.id, "weight": weight.id, "diabetes": diabetes.id, "diary": diary.id,
                "content": open_task(diabetes.id, "lue_diabetes").id}


def test_a_chart_renders_with_its_styles_under_the_page_s_own_policy(app, pathways):
    with served(app) as base, chromium() as browser:
        page = browser.new_context(locale="fi").new_page()  # no CSP bypass: the nonce must let the styles in
        refused = []
        page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
                else None)
        page.goto(f"{base}/lang/fi?next=/sign-in")
        page.locator("input[name=person][value='asiakas-123']").check()
        submit(page, "form[action='/sign-in/test'] button[type=submit]")
        page.goto(f"{base}/me/pathways/{pathways['pressure']}")
        charts = page.locator("figure.chart img.chart-image")
        expect(charts).to_have_count(1)  # blood pressure: both readings in one chart
        expect(charts.first).to_be_visible()
        assert charts.first.get_attribute("alt").startswith("Yläpaine")  # the trend in words
        assert charts.first.evaluate("img => img.complete && img.naturalWidth") == 640  # the SVG loaded and drew
        box = charts.first.bounding_box()
        assert box["width"] > 200 and box["height"] > 100
        page.locator("figure.chart summary").first.click()
        rows = page.locator("figure.chart table").first.locator("tbody tr")
        expect(rows).to_have_count(3)
        expect(rows.nth(1)).to_contain_text("142")
        expect(rows.nth(1)).to_contain_text("90")  # the diastolic of the same reading, in the same row
        assert refused == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_wcag_violations_on_the_care_pathway_pages(app, pathways, lang):
    found = []
    with served(app) as base, chromium() as browser:
        def visit(page, url=None):
            if url:
                page.goto(base + url)
            found.extend(wcag_violations(page))

        client = signed_in(browser, base, "asiakas-123", lang)
        visit(client, "/me")  # an offer waiting for consent
        offer = re.search(r"/me/offers/\d+", client.content()).group(0)
        visit(client, offer)
        with client.expect_navigation():  # sent without pressing either button: no answer
            client.evaluate("document.querySelector('form.consent').submit()")
        visit(client)  # the consent error
        visit(client, "/me/catalogue/diabetesriski/consent")
        visit(client, f"/me/pathways/{pathways['pressure']}")  # charts, phases, free measurement form
        client.locator("#measure-systolic").fill("999")
        submit(client, "form.measure button[type=submit]")
        visit(client)  # a measurement out of range
        visit(client, f"/me/pathways/{pathways['pressure']}/messages")
        client.locator("#body").fill("Voinko mitata myös iltapäivällä?")
        submit(client, "form:has(#body) button[type=submit]")
        visit(client)  # the thread with a reply-by time
        visit(client, f"/me/tasks/{pathways['content']}")  # a content page
        visit(client, f"/me/tasks/{pathways['diary']}")  # a diary with an entry
        submit(client, "button[value=entry]")
        visit(client)  # the diary's error state
        visit(client, f"/me/pathways/{pathways['weight']}")  # diary entries by day, phases
        visit(client, f"/me/pathways/{pathways['diabetes']}/withdraw")

        nurse = signed_in(browser, base, "hoitaja.virtanen", lang)
        visit(nurse, "/work")  # the unanswered message, sorted by reply-by
        visit(nurse, "/work/open")
        visit(nurse, "/work/open/painonhallinta")
        nurse.locator("#identity_code").fill("010150-998K")
        submit(nurse, "form:has(#identity_code) button[type=submit]")
        visit(nurse)  # a wrong identity code
        visit(nurse, f"/work/pathways/{pathways['pressure']}")  # charts with target range
        visit(nurse, f"/work/pathways/{pathways['pressure']}/messages")
        visit(nurse, f"/work/pathways/{pathways['weight']}")  # the client's diary
        visit(nurse, "/work/clients/asiakas-123")
    assert found == []


def test_the_care_pathway_pages_reflow_at_320_pixels(app, pathways):
    """WCAG 1.4.10 on a phone: charts, tables, messages and diaries fit without sideways scrolling."""
    wide = []
    with served(app) as base, chromium() as browser:
        for person, urls in (("asiakas-123", [f"/me/pathways/{pathways['pressure']}",
                                              f"/me/pathways/{pathways['pressure']}/messages",
                                              f"/me/tasks/{pathways['diary']}", f"/me/tasks/{pathways['content']}",
                                              "/me/catalogue/diabetesriski/consent"]),
                             ("hoitaja.virtanen", [f"/work/pathways/{pathways['pressure']}",
                                                   "/work/open/painonhallinta"])):
            page = signed_in(browser, base, person)
            page.set_viewport_size({"width": 320, "height": 640})
            for url in urls:
                page.goto(base + url)
                if page.locator("figure.chart summary").count():  # the table alternative open, too
                    page.locator("figure.chart summary").first.click()
                width = page.evaluate("document.scrollingElement.scrollWidth")
                if width > 320:
                    wide.append(f"{url} is {width} px wide")
    assert wide == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_wcag_violations_on_the_metric_dashboards(app, history, ctx, lang):
    found = []
    with served(app) as base, chromium() as browser:
        admin = signed_in(browser, base, "yllapitaja.makinen", lang)
        for url in ("/metrics?quarter=2027-Q1", "/metrics/mittari?quarter=2027-Q1&by=week",
                    "/metrics/mittari?quarter=2027-Q1&by=quarter", "/metrics/quarters?year=2027",
                    "/metrics?quarter=2027-Q9"):
            admin.goto(base + url)
            found.extend(wcag_violations(admin))
        admin.goto(f"{base}/metrics/mittari?quarter=2027-Q1")
        trends = admin.locator("figure.chart img.chart-image")
        expect(trends).to_have_count(6)
        assert trends.first.evaluate("img => img.complete && img.naturalWidth") == 640
        lights = admin.locator("span.light")
        expect(lights.first).to_be_visible()
        survey = staff_surveys.send(demo.team("Hoitaja"), "yllapitaja.makinen")
        admin.goto(base + "/admin/surveys")
        found.extend(wcag_violations(admin))
        nurse = signed_in(browser, base, "hoitaja.virtanen", lang)
        for url in ("/metrics?quarter=2027-Q1", "/work", f"/work/surveys/{survey.id}"):
            nurse.goto(base + url)
            found.extend(wcag_violations(nurse))
        submit(nurse, "form:has(input[name=value]) button[type=submit]")  # no number chosen: the error state
        found.extend(wcag_violations(nurse))
    assert found == []
