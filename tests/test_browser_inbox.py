"""The team inbox in Debian's Chromium: on a 320 px phone each task is a card whose claim button is in view
without scrolling sideways, and axe-core finds no WCAG 2.1 A/AA violation, wide or narrow, in each language."""

import pytest

from .browser import LANGUAGES, chromium, served, signed_in, wcag_violations
from .test_inbox import copies, open_nurse_task


@pytest.fixture
def inbox(app, api, sample):
    """Sixty open tasks for the team Hoitaja (a page and a bit), some late, one of a client not signed in yet."""
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
