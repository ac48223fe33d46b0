"""The diagram pages in Debian's Chromium: bpmn-js draws the sample pathway under the page's own
Content-Security-Policy, with the counts as badges on their nodes and an instance's open task and waiting timer
marked; axe-core finds no WCAG 2.1 A/AA violation, at 1280 and at 320 px, in each language; nothing needs
scrolling sideways on a phone. Screenshots of each go to /tmp/diagram-shots/ for a person to look at."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .browser import LANGUAGES, chromium, served, signed_in, submit, tab_to, wcag_violations
from .conftest import DIAGRAM_START, VERSION_PAGE

pytestmark = pytest.mark.clock(DIAGRAM_START)
SHOTS = Path("/tmp/diagram-shots")
WIDTHS = (1280, 320)


def drawn(page: Page, url: str) -> None:
    """Open a diagram page and wait until bpmn-js has drawn it and its marks are on."""
    page.goto(url)
    expect(page.locator("figure.diagram[data-diagram-drawn]")).to_have_count(1)


def badges(page: Page, node: str) -> list[str]:
    return page.locator(f'.djs-overlays[data-container-id="{node}"] .diagram-badge').all_inner_texts()


def marks(page: Page, node: str) -> set[str]:
    return set(page.locator(f'g.djs-element[data-element-id="{node}"]').get_attribute("class").split())


def row(page: Page, node: str, heading: str = "nodes-heading") -> list[str]:
    """A table's row for a node, cell by cell, without the labels shown on narrow screens."""
    cells = page.locator(f'table[aria-labelledby="{heading}"] tr:has(.node-id:text-is("{node}")) td')
    return [" ".join(t.split()) for t in cells.evaluate_all(
        "tds => tds.map(td => [...td.childNodes].filter(n => !(n.classList && n.classList.contains('card-label')))"
        ".map(n => n.textContent).join(''))")]


def test_the_version_diagram_shows_the_counts_as_badges_and_in_its_table(app, standing):
    with served(app) as base, chromium() as browser:
        page = signed_in(browser, base, "suunnittelija.laine", "en")
        drawn(page, base + VERSION_PAGE)
        assert badges(page, "start") == ["✓ 5"]
        assert badges(page, "esitietolomake") == ["● 3", "✓ 2"]
        assert badges(page, "muistutus_esitiedot") == ["● 3"]
        assert badges(page, "kiireellisyys_arvio") == ["✓ 2"]
        assert badges(page, "hoitajan_arvio") == ["● 2"]
        assert badges(page, "asiakas_kuittaa") == []
        assert row(page, "esitietolomake") == ["Täytä esitietolomake", "esitietolomake", "3", "2"]
        assert row(page, "hoitajan_arvio") == ["Arvioi esitiedot", "hoitajan_arvio", "2", "0"]
        expect(page.locator(".bjs-powered-by")).to_be_visible()  # the bpmn.io watermark the licence asks for


def test_the_instance_diagram_marks_the_open_task_and_the_waiting_timer_with_its_due_time(app, standing):
    with served(app) as base, chromium() as browser:
        page = signed_in(browser, base, "suunnittelija.laine", "en")
        drawn(page, f"{base}/admin/instances/{standing[-1]}")
        assert "polku-open" in marks(page, "esitietolomake")
        assert "polku-waiting" in marks(page, "muistutus_esitiedot")
        assert "polku-done" in marks(page, "start")
        assert not {"polku-done", "polku-open", "polku-waiting"} & marks(page, "hoitajan_arvio")
        assert badges(page, "esitietolomake") == ["Open"]
        assert badges(page, "muistutus_esitiedot") == ["Waiting until 4 Mar 2027, 10:00"]
        timers = page.locator('table[aria-labelledby="timers-heading"] tbody tr')
        expect(timers).to_have_count(1)
        expect(timers.first).to_contain_text("4 Mar 2027, 10:00")
        assert row(page, "muistutus_esitiedot")[2] == "Waiting"


def test_the_keyboard_zooms_with_the_buttons_and_moves_the_diagram_with_the_arrow_keys(app, standing):
    def view(page) -> str:
        return page.locator(".djs-container > svg g.viewport").get_attribute("transform")

    with served(app) as base, chromium() as browser:
        page = signed_in(browser, base, "suunnittelija.laine", "en")
        drawn(page, base + VERSION_PAGE)
        first = view(page)
        tab_to(page, ".diagram-tools button[value=in]")
        page.keyboard.press("Enter")
        zoomed = view(page)
        assert zoomed != first
        tab_to(page, ".djs-container > svg")
        page.keyboard.press("ArrowRight")
        assert view(page) != zoomed
        assert page.locator(".djs-container > svg").get_attribute("aria-label").startswith("Diagram of ")


def test_bpmn_js_draws_under_the_page_s_own_policy(app, standing):
    with served(app) as base, chromium() as browser:
        page = browser.new_context(locale="fi").new_page()  # no CSP bypass: the policy must let bpmn-js work
        refused, missing = [], []
        page.on("console", lambda message: refused.append(message.text)
                if "Content Security Policy" in message.text else None)
        page.on("response", lambda response: missing.append(response.url)
                if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)
        page.goto(f"{base}/lang/fi?next=/sign-in")
        page.locator("input[name=person][value='suunnittelija.laine']").check()
        submit(page, "form[action='/sign-in/test'] button[type=submit]")
        for url in (VERSION_PAGE, f"/admin/instances/{standing[-1]}"):
            drawn(page, base + url)
            assert page.locator("g.djs-element[data-element-id='esitietolomake']").is_visible()
            assert page.locator(".djs-overlays .diagram-badge").count() > 0
        assert refused == [] and missing == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_both_pages_pass_axe_wide_and_at_320_px_where_the_diagram_stays_in_its_box(app, standing, lang):
    SHOTS.mkdir(exist_ok=True)
    found = []
    with served(app) as base, chromium() as browser:
        page = signed_in(browser, base, "yllapitaja.makinen", lang)
        for name, url in (("version", VERSION_PAGE), ("instance", f"/admin/instances/{standing[-1]}")):
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900 if width > 320 else 640})
                drawn(page, base + url)
                found.extend(wcag_violations(page))
                page.screenshot(path=SHOTS / f"{name}-{lang}-{width}.png", full_page=True)
                page.locator("figure.diagram").screenshot(path=SHOTS / f"{name}-{lang}-{width}-diagram.png")
                assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{url} at {width} px"
                box = page.locator(".diagram-canvas").bounding_box()
                assert box["width"] <= width and box["height"] >= 200, box
                shape = page.locator("g.djs-element[data-element-id='start']").bounding_box()
                assert box["x"] <= shape["x"] and shape["x"] + shape["width"] <= box["x"] + box["width"], \
                    "the start of the pathway is in view in the box"
    assert found == []
