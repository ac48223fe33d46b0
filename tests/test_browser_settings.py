"""The settings pages in Debian's Chromium: a client's and a professional's, empty, with an error and with choices
in use, pass axe-core (WCAG 2.1 A/AA) at 1280 and 320 px in Finnish, Swedish and English, and nothing on them
scrolls sideways on a phone. Screenshots go to /tmp/settings-shots/ for a person to look at."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from .browser import LANGUAGES, chromium, served, signed_in, submit, tab_to, wcag_violations

SHOTS = Path("/tmp/settings-shots")
WIDTHS = (1280, 320)


def looked_at(page, name: str) -> None:
    """Checked at both widths (axe, and no sideways scrolling on a phone), a full-page screenshot of each."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900 if width > 320 else 640})
        assert wcag_violations(page) == [], f"{name} at {width} px"
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways at {width}"
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_client_s_settings_pass_axe_wide_and_narrow(app, lang):
    with served(app) as base, chromium() as browser:
        page = signed_in(browser, base, "asiakas-123", lang)
        page.locator("header.site nav a[href='/me/settings']").click()
        page.wait_for_load_state("load")
        looked_at(page, f"client-{lang}-empty")
        page.fill("#channel-email", "aino@@example")
        page.fill("#channel-sms", "09 123 4567")
        submit(page, "main form[novalidate] button[type=submit]")
        expect(page.locator(".error-summary")).to_be_focused()
        assert page.locator(".error-summary a").count() == 2
        looked_at(page, f"client-{lang}-errors")
        page.locator(".error-summary a[href='#channel-sms']").click()
        expect(page.locator("#channel-sms")).to_be_focused()
        page.fill("#channel-email", "aino.asiakas@example.fi")
        page.fill("#channel-sms", "040 123 4567")
        submit(page, "main form[novalidate] button[type=submit]")
        expect(page.locator("p.notice[role=status]")).to_be_visible()
        assert page.locator("main button.secondary").count() == 2, "a way to stop each"
        looked_at(page, f"client-{lang}-chosen")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_professional_s_settings_pass_axe_wide_and_narrow(app, lang):
    with served(app) as base, chromium() as browser:
        page = signed_in(browser, base, "hoitaja.virtanen", lang)
        page.goto(f"{base}/work/settings")
        looked_at(page, f"work-{lang}-empty")
        page.fill("#channel-digest", "hanna.virtanen@hyvinvointialue.example")
        submit(page, "main form[novalidate] button[type=submit]")
        looked_at(page, f"work-{lang}-chosen")
        tab_to(page, "main button.secondary")  # stopping it is reached with the keyboard
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.locator("p.notice[role=status]")).to_be_visible()
        assert page.locator("main button.secondary").count() == 0
