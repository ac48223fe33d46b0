"""Browser tests' tools: the app served on loopback, Debian's Chromium through Playwright, axe-core.

Playwright never downloads a browser here: it drives /usr/bin/chromium (installed by the test
set-up, ``.ci/ensure-chromium``). axe-core comes with axe-playwright-python.
"""

import socket
import threading
from contextlib import contextmanager

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect, sync_playwright
from waitress import wasyncore
from waitress.server import create_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LANGUAGES = ("fi", "sv", "en")
_AXE = Axe()


@contextmanager
def served(app, threads: int = 4):
    """The app on a free loopback port, in a thread (waitress, ``threads`` workers); yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = create_server(app, host="127.0.0.1", port=port, threads=threads)
    stopping = threading.Event()

    def run():
        try:
            server.run()
        except OSError:  # a socket closed under the loop's select while it stopped
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stopping.set()
        # Closed in the loop's own thread, so that its select never waits on a socket closed meanwhile; a loop
        # that has already ended (its trigger closed with it) has nothing left to close.
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        except OSError:
            wasyncore.close_all(server._map)
        thread.join(5)
        server.task_dispatcher.shutdown()


@contextmanager
def chromium():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element ``selector`` names has the focus, as a keyboard user would."""
    target = page.locator(selector).first
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key on {page.url}")


def wcag_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page once it has loaded, one line each."""
    page.wait_for_load_state("load")
    results = _AXE.run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]} on {page.url}"
            for v in results.response["violations"]]


def choose_radio(page: Page, group: str, value: str, limit: int = 20) -> None:
    """Tab into a radio group and move with the arrow keys to the option (which selects it)."""
    tab_to(page, f"input[name='{group}']:checked, input[name='{group}']:first-of-type")
    target = page.locator(f"input[name='{group}'][value='{value}']")
    for _ in range(limit):
        if target.evaluate("el => el === document.activeElement"):
            page.keyboard.press("Space")
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"option {value} of {group} cannot be reached with the arrow keys on {page.url}")


def submit(page: Page, selector: str) -> None:
    """Click the button and wait for the page it leads to."""
    with page.expect_navigation():
        page.locator(selector).click()


def signed_in(browser, base: str, person: str, lang: str = "fi"):
    """A new browser context signed in as a demo person, in a language, by the keyboard."""
    page = browser.new_context(bypass_csp=True, locale=lang).new_page()
    page.goto(f"{base}/lang/{lang}?next=/sign-in")
    choose_radio(page, "person", person)
    tab_to(page, "form[action='/sign-in/test'] button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator("header.site form button")).to_be_visible()  # the sign-out button: signed in
    return page
