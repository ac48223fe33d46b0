"""The team inbox in Debian's Chromium: on a 320 px phone each task is a card whose claim button is in view
without scrolling sideways and takes the task with a tap; a client is found by name and by identity code, which
never shows; axe-core finds no WCAG 2.1 A/AA violation, wide or narrow, in each language."""

import pytest

from .browser import LANGUAGES, chromium, served, signed_in, wcag_violations
from .test_inbox import copies, open_nurse_task


@pytest.fixture
def inbox(app, api, sample):
    """Sixty open tasks for the team Hoitaja (more than two pages), some late, one of a client not signed in yet."""
    with app.app_context():
        copies(open_nurse_task(api, "asiakas-123"), 58, late=5)
        open_nurse_task(api, "asiakas-901")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_inbox_at_320_px_keeps_the_claim_button_in_view_and_passes_axe(app, inbox, lang):
    with served(app) as base, chromium() as browser:
        page = signed_in(browser, base, "hoitaja.virtanen", lang)
        page.set_viewport_size({"width": 320, "height": 640})
        page.goto(f"{base}/work")
        claim = page.locator("td.card-actions button").first
        claim.scroll_into_view_if_needed()
        box = claim.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320, box
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, "nothing to scroll sideways"
        assert wcag_violations(page) == []
        page.set_viewport_size({"width": 1280, "height": 900})
        assert wcag_violations(page) == []
        page.goto(f"{base}/work?page=2")
        assert page.locator("nav.pages a[aria-current=page]").inner_text() == "2"
        assert wcag_violations(page) == []


def test_a_tap_on_claim_at_320_px_takes_the_task_and_comes_back_to_the_same_page(app, inbox):
    """Every row's button belongs to one form by its ``form`` attribute and sends to its own address."""
    with served(app) as base, chromium() as browser:
        page = signed_in(browser, base, "hoitaja.virtanen", "en")
        page.set_viewport_size({"width": 320, "height": 640})
        page.goto(f"{base}/work?page=2")
        first = page.locator("td.card-actions button").first
        title = first.locator(".visually-hidden").inner_text().strip()
        first.click()
        page.wait_for_load_state("load")
        assert page.url.endswith("/work?page=2"), page.url
        assert "Mine (1)" in page.inner_text("ul.filters")
        release = page.locator("td.card-actions button", has_text="Release").first
        assert release.locator(".visually-hidden").inner_text().strip() == title


def test_the_nurse_finds_a_client_by_name_and_by_identity_code_which_stays_out_of_sight(app, inbox, web_as):
    web_as("asiakas-123")  # Aino has signed in once: her name is known
    with served(app) as base, chromium() as browser:
        page = signed_in(browser, base, "hoitaja.virtanen", "en")
        page.goto(f"{base}/work")
        assert "60 tasks" in page.inner_text("main")
        for query in ("aino", "010150-998J"):
            page.fill("#filter-client", query)
            page.locator("form.filters button[type=submit]").click()
            page.wait_for_load_state("load")
            shown = page.inner_text("main")
            assert "59 tasks" in shown and "Not signed in yet" not in shown, query
            assert "998J" not in page.url and "998J" not in page.content(), "the code is matched, never shown"
        assert wcag_violations(page) == []
