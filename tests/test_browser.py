"""In Debian's Chromium: a client answers with the keyboard alone, a nurse works the inbox, a designer
uploads a broken pathway; and axe-core finds no WCAG 2.1 A/AA violation on any page in fi, sv and en."""

import pytest
from playwright.sync_api import expect

from .browser import LANGUAGES, chromium, served, signed_in, submit, tab_to, wcag_violations
from .conftest import ANSWERS, ROOT


@pytest.fixture
def site(app, sample):
    with served(app) as base, chromium() as browser:
        yield base, browser


@pytest.fixture
def instance(api):
    return api.start("esitieto", business_key="asiakas-123:esitieto", client_id="asiakas-123")


def test_a_client_answers_with_the_keyboard_fixes_an_error_and_sees_it_in_history(site, instance):
    base, browser = site
    page = signed_in(browser, base, "asiakas-123")
    tab_to(page, f"a[href='/me/tasks/{instance['tasks'][0]['id']}']")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    tab_to(page, "#f-oireet")
    page.keyboard.type("Yskä ja kuume")
    tab_to(page, "#f-kesto_paivia")
    page.keyboard.type("3")
    tab_to(page, "#f-kipu")
    page.keyboard.type("12")
    tab_to(page, "button[value=send]")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary.locator("a[href='#f-kipu']")).to_be_visible()
    expect(page.locator("#f-kipu")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-oireet")).to_have_value("Yskä ja kuume")
    tab_to(page, "#f-kipu")
    page.keyboard.press("Control+A")
    page.keyboard.type("8")
    tab_to(page, "button[value=send]")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator("[role=status]")).to_be_visible()
    expect(page.locator("dl.answers")).to_contain_text("Yskä ja kuume")
    tab_to(page, f"a[href='/me/pathways/{instance['id']}']")  # back to the pathway: its history
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    done = page.locator("ol.timeline")
    expect(done).to_contain_text("Täytä esitietolomake")
    tab_to(page, f"ol.timeline a[href='/me/tasks/{instance['tasks'][0]['id']}']")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator("dl.answers")).to_contain_text("Yskä ja kuume")


def test_a_nurse_claims_and_completes_a_task_from_the_inbox(site, instance, api):
    base, browser = site
    api.complete(instance["tasks"][0]["id"], ANSWERS["esitietolomake"])
    page = signed_in(browser, base, "hoitaja.virtanen")
    row = page.locator("tbody tr", has_text="Aino Asiakas")
    row.locator("button[type=submit]").click()
    page.wait_for_load_state()
    page.locator("tbody tr", has_text="Aino Asiakas").locator("a").first.click()
    page.wait_for_load_state()
    expect(page.locator("main")).to_contain_text("Yskä ja kuume")
    page.locator("#f-viesti_asiakkaalle").fill("Tervetuloa vastaanotolle.")
    page.locator("input[name=laboratorio][value=false]").check()
    submit(page, "button[value=send]")
    page.wait_for_load_state()
    expect(page.locator("[role=status]")).to_be_visible()


def test_a_designer_uploads_a_broken_pathway_and_sees_the_errors(site, tmp_path):
    base, browser = site
    broken = tmp_path / "rikki.bpmn"
    broken.write_bytes((ROOT / "bpmn" / "esitieto" / "esitieto.bpmn").read_bytes().replace(b'"P3D"', b"P3D"))
    page = signed_in(browser, base, "suunnittelija.laine")
    page.locator("#key").fill("rikki")
    page.locator("#files").set_input_files(str(broken))
    submit(page, "form[enctype] button[type=submit]")
    page.wait_for_load_state()
    report = page.locator("#report")
    expect(report).to_contain_text("rikki.bpmn")
    expect(report.locator("tbody tr")).not_to_have_count(0)
    assert wcag_violations(page) == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_wcag_violations_on_any_page(site, instance, api, lang):
    base, browser = site
    found = []

    def visit(page, url=None):
        if url:
            page.goto(base + url)
        found.extend(wcag_violations(page))

    anonymous = browser.new_context(bypass_csp=True).new_page()
    anonymous.goto(f"{base}/lang/{lang}?next=/sign-in")
    visit(anonymous)
    submit(anonymous, "form[action='/sign-in/test'] button")  # no person chosen: the error state
    visit(anonymous)
    visit(anonymous, "/accessibility")
    visit(anonymous, "/no-such-page")

    client = signed_in(browser, base, "asiakas-123", lang)
    task = f"/me/tasks/{instance['tasks'][0]['id']}"
    visit(client, "/me")
    visit(client, task)  # empty
    client.locator("#f-oireet").fill("Yskä ja kuume")
    client.locator("#f-kipu").fill("12")
    submit(client, "button[value=draft]")
    visit(client)  # filled (a saved draft)
    submit(client, "button[value=send]")
    visit(client)  # errors
    client.locator("#f-kipu").fill("8")
    client.locator("#f-kesto_paivia").fill("3")
    submit(client, "button[value=send]")
    visit(client)  # sent
    visit(client, f"/me/pathways/{instance['id']}")
    visit(client, "/me/access-log")
    visit(client, "/me/catalogue")

    nurse = signed_in(browser, base, "hoitaja.virtanen", lang)
    visit(nurse, "/work")
    nurse_task = nurse.locator("tbody a[href^='/work/tasks/']").first.get_attribute("href")
    visit(nurse, nurse_task)
    submit(nurse, "button[value=send]")
    visit(nurse)  # errors
    visit(nurse, "/work/clients/asiakas-123")
    visit(nurse, f"/work/pathways/{instance['id']}")
    visit(nurse, "/work?pathway=esitieto&due=week&mine=1")  # filtered, nothing left

    designer = signed_in(browser, base, "suunnittelija.laine", lang)
    visit(designer, "/admin/pathways")
    designer.locator("#key").fill("rikki")
    designer.locator("#files").set_input_files({"name": "rikki.bpmn", "mimeType": "application/xml",
                                                 "buffer": b"<definitions/>"})
    submit(designer, "form[enctype] button[type=submit]")
    visit(designer)  # the validation report
    admin = signed_in(browser, base, "yllapitaja.makinen", lang)
    visit(admin, "/admin/teams")
    admin.locator("#team-key").fill("")
    submit(admin, "form:has(#team-key) button")  # no name given: the error state
    visit(admin)
    assert found == []


def test_the_accessibility_check_finds_a_violation_when_there_is_one():
    """The check above is only worth something if axe-core really runs in the page."""
    with chromium() as browser:
        page = browser.new_page()
        page.set_content('<html lang="fi"><title>t</title><main><img src="x.png"><input type="text"></main></html>')
        found = wcag_violations(page)
    assert any(line.startswith("image-alt") for line in found), found
    assert any(line.startswith("label") for line in found), found


def test_pages_reflow_at_320_pixels_without_sideways_scrolling(site, instance, api):
    """WCAG 1.4.10: at 320 CSS pixels (a phone, or 1280 px at 400 %) nothing needs scrolling sideways."""
    base, browser = site
    api.complete(instance["tasks"][0]["id"], ANSWERS["esitietolomake"])
    wide = []
    for person, urls in (("asiakas-123", ["/me", f"/me/tasks/{instance['tasks'][0]['id']}",
                                          f"/me/pathways/{instance['id']}", "/me/access-log"]),
                         ("hoitaja.virtanen", ["/work", "/work/clients/asiakas-123",
                                               f"/work/pathways/{instance['id']}"]),
                         ("suunnittelija.laine", ["/admin/pathways"])):
        page = signed_in(browser, base, person)
        page.set_viewport_size({"width": 320, "height": 640})
        for url in ["/sign-in", *urls]:
            page.goto(base + url)
            width = page.evaluate("document.scrollingElement.scrollWidth")
            if width > 320:
                wide.append(f"{url} is {width} px wide")
    assert wide == []
