"""The operators' pages in Debian's Chromium: the incidents list and moving instances pass axe-core at 1280 and
at 320 px in each language, nothing scrolls sideways on a phone, a retry is one keyboard press away, and two
versions compared show their changes on the diagram. Screenshots go to /tmp/console-shots/."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from .browser import LANGUAGES, chromium, served, signed_in, tab_to, wcag_violations
from .fixtures.builders import script_bpmn
from .helpers import upload

SHOTS = Path("/tmp/console-shots")


def pathway(script: str) -> bytes:
    return script_bpmn(script, drawn=True)


@pytest.fixture
def stranded(app, api, ctx):
    """Three instances stopped on a failing script, one of them suspended; a fixed version deployed."""
    assert upload(api, {"laskenta.bpmn": pathway("tulos = 10 / jakaja")}, key="laskenta").status_code == 201
    ids = [api.start("laskenta", variables={"jakaja": 0}, client_id=f"asiakas-{n}")["id"] for n in range(3)]
    api.client.post(f"/api/v1/instances/{ids[0]}/suspend", json={}, headers={"X-Polku-Actor": "yllapitaja.makinen"})
    fixed = pathway("tulos = 10 / jakaja if jakaja else 0").replace(b'name="Tarkista tulos"',
                                                                    b'name="Tarkista laskettu tulos"')
    assert upload(api, {"laskenta.bpmn": fixed}, key="laskenta").status_code == 201
    return ids


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_incidents_and_move_pages_pass_axe_wide_and_on_a_phone(app, stranded, lang):
    SHOTS.mkdir(exist_ok=True)
    found = []
    with served(app) as base, chromium() as browser:
        page = signed_in(browser, base, "yllapitaja.makinen", lang)
        for name, url in (("incidents", "/admin/incidents"), ("move", "/admin/pathways/laskenta/move?from=1&to=2")):
            for width in (1280, 320):
                page.set_viewport_size({"width": width, "height": 900 if width > 320 else 640})
                page.goto(base + url)
                page.locator("details").first.evaluate("d => d.open = true") if name == "incidents" else None
                found.extend(wcag_violations(page))
                page.screenshot(path=SHOTS / f"{name}-{lang}-{width}.png", full_page=True)
                assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{url} at {width} px"
    assert found == []


def test_a_retry_from_the_keyboard_runs_the_fixed_step_after_the_move(app, stranded):
    with served(app) as base, chromium() as browser:
        page = signed_in(browser, base, "suunnittelija.laine", "en")
        page.goto(base + "/admin/pathways/laskenta/move?from=1&to=2")
        expect(page.locator("main")).to_contain_text("3 of 3 active instances can move.")
        tab_to(page, "main form[method=post] button[type=submit]")
        page.keyboard.press("Enter")
        expect(page.locator("main h2").nth(1)).to_have_text("3 instances moved")
        page.goto(base + "/admin/incidents")
        expect(page.locator("main")).to_contain_text("3 instances need a look.")
        tab_to(page, f"form[action$='/instances/{stranded[1]}/retry'] button")
        page.keyboard.press("Enter")
        expect(page.locator("p.notice[role=status]")).to_have_text(f"Instance {stranded[1]}: the step was run again.")
        expect(page.locator("main")).to_contain_text("2 instances need a look.")


def test_two_versions_compared_are_marked_on_the_diagram(app, stranded):
    with served(app) as base, chromium() as browser:
        page = signed_in(browser, base, "suunnittelija.laine", "en")
        page.goto(base + "/admin/pathways/laskenta/versions/2?against=1")
        expect(page.locator("figure.diagram[data-diagram-drawn]")).to_have_count(1)
        for node in ("laske", "tarkista"):
            marks = page.locator(f'g.djs-element[data-element-id="{node}"]').get_attribute("class").split()
            assert "polku-changed" in marks, node
        badge = page.locator('.djs-overlays[data-container-id="tarkista"] .diagram-badge')
        expect(badge).to_have_text("Changed")
        assert wcag_violations(page) == []
        page.screenshot(path=SHOTS / "compared-en-1280.png", full_page=True)
