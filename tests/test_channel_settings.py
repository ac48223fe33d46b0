"""Settings pages: a client chooses where her reminders go (an e-mail address, a mobile number, or both) and their
language, changes and withdraws each; a professional chooses, changes and withdraws her daily digest. Each choice
is a new row (the latest holds; a withdrawal has no address). A bad address or number is named in the error
summary and beside its field; nobody sees or changes anyone else's; every post needs its CSRF token."""

import re

import pytest
from sqlalchemy import func, select

from orchestrator.extensions import db
from orchestrator.models import ContactChoice
from orchestrator.reach import contact, reminders

from .helpers import text


def rows(owner: str) -> list[tuple[str, str | None, str]]:
    db.session.rollback()
    return [tuple(r) for r in db.session.execute(select(ContactChoice.channel, ContactChoice.address,
                                                        ContactChoice.language)
                                                 .where(ContactChoice.owner == owner).order_by(ContactChoice.id))]


def held(owner: str) -> dict[str, tuple[str, str]]:
    db.session.rollback()
    return {channel: (c.address, c.language) for channel, c in reminders.choices(owner).items()}


@pytest.fixture
def signed_in(web_as):
    """Signed in, reading the pages in English (the words checked stay the same when the catalogs grow)."""
    def sign_in(person: str):
        web = web_as(person)
        web.get("/lang/en")
        return web

    return sign_in


def test_a_client_chooses_changes_and_withdraws_her_channels(signed_in, ctx):
    aino = signed_in("asiakas-123")
    page = text(aino.get("/me/settings"))
    assert 'href="/me/settings"' in page, "the header links to it"
    assert "never anything about your health" in page and "between 21:00 and 08:00" in page
    assert re.search(r'value="en" checked', page), "the page's language by default"
    saved = aino.post("/me/settings", {"email": " Aino.Asiakas@Example.FI ", "sms": "040 123 4567",
                                       "language": "sv"})
    assert saved.status_code == 302 and saved.headers["Location"] == "/me/settings?saved=1"
    assert held("asiakas-123") == {"email": ("Aino.Asiakas@example.fi", "sv"), "sms": ("+358401234567", "sv")}
    page = text(aino.get(saved.headers["Location"]))
    assert "Your choices were saved." in page and "To +358401234567" in page
    assert 'value="sv" checked' in page

    aino.post("/me/settings", {"email": "aino@example.org", "sms": "+358 40 123 4567", "language": "sv"})
    assert rows("asiakas-123")[2:] == [("email", "aino@example.org", "sv")], "only what changed"
    aino.post("/me/settings", {"email": "aino@example.org", "sms": "+358401234567", "language": "en"})
    assert rows("asiakas-123")[3:] == [("email", "aino@example.org", "en"), ("sms", "+358401234567", "en")]

    stopped = aino.post("/me/settings/withdraw", {"channel": "sms"})
    assert stopped.headers["Location"] == "/me/settings?withdrawn=sms"
    assert "Text message reminders are no longer sent." in text(aino.get(stopped.headers["Location"]))
    assert held("asiakas-123") == {"email": ("aino@example.org", "en")}
    aino.post("/me/settings", {"email": "", "sms": "", "language": "en"})  # emptied: withdrawn too
    assert held("asiakas-123") == {}
    assert rows("asiakas-123")[-2:] == [("sms", None, "en"), ("email", None, "en")], "append-only"
    page = text(aino.get("/me/settings"))
    assert page.count("Not in use.") == 2 and "Stop e-mail reminders" not in page


def test_bad_e_mail_and_phone_are_named_in_the_summary_and_beside_their_fields(signed_in, ctx):
    aino = signed_in("asiakas-123")
    refused = aino.post("/me/settings", {"email": "aino@@example", "sms": "09 123 4567", "language": "fi"})
    assert refused.status_code == 422
    page = text(refused)
    summary = page[page.index('class="error-summary"'):page.index("</section>")]
    assert '<a href="#channel-email"><span>E-mail address</span>: Write the e-mail address in the form ' \
           'name@example.fi.</a>' in summary
    assert '<a href="#channel-sms"><span>Mobile number</span>: This is not a Finnish mobile number' in summary
    for field in ("email", "sms"):
        assert re.search(rf'<p class="error-message" id="channel-{field}-error">', page)
        assert re.search(rf'id="channel-{field}" name="{field}" value="[^"]+"[^>]*aria-describedby="channel-{field}'
                         rf'-description channel-{field}-error" aria-invalid="true"', page), field
    assert 'value="aino@@example"' in page and 'value="09 123 4567"' in page, "what she typed stays"
    assert "<title>Error: Settings – Polku</title>" in page, "the title says so"
    assert rows("asiakas-123") == [], "nothing was stored"
    tampered = aino.post("/me/settings", {"email": "", "sms": "", "language": "de"})
    assert tampered.status_code == 422 and '<a href="#language">' in text(tampered)


def test_a_professional_chooses_changes_and_withdraws_her_daily_digest(signed_in, ctx):
    hanna = signed_in("hoitaja.virtanen")
    page = text(hanna.get("/work/settings"))
    assert 'href="/work/settings"' in page and "Every morning at 07:00" in page
    assert "never names a client" in page and 'name="sms"' not in page and 'name="email"' not in page
    assert hanna.post("/work/settings", {"digest": "not an address", "language": "fi"}).status_code == 422
    assert hanna.post("/work/settings", {"digest": "hanna.virtanen@hyvinvointialue.example",
                                         "language": "fi"}).status_code == 302
    hanna.post("/work/settings", {"digest": "hanna@hyvinvointialue.example", "language": "fi"})
    assert held("hoitaja.virtanen") == {"digest": ("hanna@hyvinvointialue.example", "fi")}
    assert hanna.post("/work/settings/withdraw", {"channel": "digest"}).headers["Location"] == \
        "/work/settings?withdrawn=digest"
    assert held("hoitaja.virtanen") == {}
    assert [r[0] for r in rows("hoitaja.virtanen")] == ["digest"] * 3


def test_each_sees_and_changes_only_her_own(signed_in, ctx):
    aino, bertil = signed_in("asiakas-123"), signed_in("asiakas-456")
    hanna, noora = signed_in("hoitaja.virtanen"), signed_in("hoitaja.nieminen")
    aino.post("/me/settings", {"email": "aino@example.org", "sms": "0401234567", "language": "fi"})
    hanna.post("/work/settings", {"digest": "hanna@hyvinvointialue.example", "language": "fi"})
    for other, url in ((bertil, "/me/settings"), (noora, "/work/settings")):
        page = text(other.get(url))
        assert "aino@example.org" not in page and "+358401234567" not in page and "hanna@" not in page
        assert page.count("Not in use.") == (2 if url.startswith("/me") else 1)
    bertil.post("/me/settings/withdraw", {"channel": "email"})
    bertil.post("/me/settings", {"email": "bertil@example.org", "sms": "", "language": "sv"})
    noora.post("/work/settings/withdraw", {"channel": "digest"})
    assert held("asiakas-123") == {"email": ("aino@example.org", "fi"), "sms": ("+358401234567", "fi")}
    assert held("asiakas-456") == {"email": ("bertil@example.org", "sv")}
    assert held("hoitaja.virtanen") == {"digest": ("hanna@hyvinvointialue.example", "fi")}
    assert aino.get("/work/settings").status_code == 403 and hanna.get("/me/settings").status_code == 403
    assert aino.post("/work/settings/withdraw", {"channel": "digest"}).status_code == 403
    assert hanna.post("/me/settings", {"email": "x@example.org"}).status_code == 403
    # A channel that is not hers is no channel: nothing is written.
    assert aino.post("/me/settings/withdraw", {"channel": "digest"}).headers["Location"] == "/me/settings"
    assert aino.post("/me/settings", {"email": "aino@example.org", "sms": "0401234567", "language": "fi",
                                      "digest": "aino@example.org"}).status_code == 302
    assert {r[0] for r in rows("asiakas-123")} == {"email", "sms"}


def test_every_post_needs_its_csrf_token(web_as, ctx):
    aino, hanna = web_as("asiakas-123"), web_as("hoitaja.virtanen")
    assert aino.post("/me/settings", {"email": "aino@example.org", "language": "fi"}, csrf=False).status_code == 400
    assert aino.post("/me/settings/withdraw", {"channel": "email"}, csrf=False).status_code == 400
    assert hanna.post("/work/settings", {"digest": "h@example.org", "language": "fi"}, csrf=False).status_code == 400
    assert hanna.post("/work/settings/withdraw", {"channel": "digest"}, csrf=False).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ContactChoice)) == 0


def test_the_page_s_language_is_the_default_for_the_messages(web_as, ctx):
    bertil = web_as("asiakas-456")
    bertil.get("/lang/sv?next=/me/settings")
    assert 'value="sv" checked' in text(bertil.get("/me/settings"))
    bertil.post("/me/settings", {"email": "bertil@example.org", "sms": "", "language": "sv"})
    bertil.get("/lang/en")
    assert 'value="sv" checked' in text(bertil.get("/me/settings")), "once chosen, her choice"


def test_viewing_her_settings_is_in_her_access_log_once(web_as, ctx):
    from orchestrator.models import AccessLog

    web_as("asiakas-123").get("/me/settings")
    db.session.rollback()
    logged = db.session.scalars(select(AccessLog).where(AccessLog.client_id == "asiakas-123",
                                                        AccessLog.object_type != "pathway-list")).all()
    assert [(r.object_type, r.purpose) for r in logged] == [("contact-choices", "own-data")]


@pytest.mark.parametrize(("given", "stored"), [
    ("aino@example.fi", "aino@example.fi"),
    ("  Aino.Asiakas+polku@Sub.Example.FI ", "Aino.Asiakas+polku@sub.example.fi"),
    ("o'brien@example.co.uk", "o'brien@example.co.uk"),
    ("matti@ääkköset.fi", "matti@xn--kkset-fraa0m.fi"),
    ("x@xn--p1ai.example", "x@xn--p1ai.example"),
])
def test_an_e_mail_address_is_stored_as_mail_servers_take_it(given, stored):
    assert contact.email(given) == stored


@pytest.mark.parametrize("given", [
    "aino", "aino@", "@example.fi", "aino@example", "aino@@example.fi", "aino@exa mple.fi", "ai no@example.fi",
    ".aino@example.fi", "aino.@example.fi", "ai..no@example.fi", "aino@-example.fi", "aino@example-.fi",
    "aino@example..fi", "aino@example.fi.", "aino@127.0.0.1", "aino@[127.0.0.1]", '"aino asiakas"@example.fi',
    "aino(koti)@example.fi", "äinö@example.fi", "aino@example.123", "aino@exam_ple.fi",
    "a" * 65 + "@example.fi", "aino@" + "a" * 64 + ".fi",
])
def test_an_e_mail_address_that_is_no_address_is_refused(given):
    with pytest.raises(ValueError, match="name@example.fi"):
        contact.email(given)


def test_too_long_an_address_is_refused_saying_so():
    with pytest.raises(ValueError, match="254"):
        contact.email("a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".fi")


@pytest.mark.parametrize(("given", "stored"), [
    ("040 123 4567", "+358401234567"), ("0401234567", "+358401234567"), ("050-123 45 67", "+358501234567"),
    ("+358 40 123 4567", "+358401234567"), ("+358 (0)40 123 4567", "+358401234567"),
    ("00358 40 1234567", "+358401234567"), ("+46 70 123 45 67", "+46701234567"), ("+1 (202) 555-0143", "+12025550143"),
    ("044\u00a0987\u00a06543", "+358449876543"),
])
def test_a_mobile_number_is_stored_in_international_form(given, stored):
    assert contact.phone(given) == stored


@pytest.mark.parametrize(("given", "why"), [
    ("09 123 4567", "not a Finnish mobile"), ("+358 9 123 4567", "not a Finnish mobile"),
    ("040 1234", "not a Finnish mobile"), ("040 12", "country code"), ("401234567", "country code"),
    ("+0401234567", "country code"), ("+46 70 12", "country code"), ("+1234567890123456", "country code"),
    ("040 123 456a", "country code"), ("+358 40 123 4567 ext 2", "country code"),
    ("０４０１２３４５６７", "country code"),  # full-width digits: not what an SMS gateway takes
])
def test_a_number_that_is_no_mobile_number_is_refused(given, why):
    with pytest.raises(ValueError, match=why):
        contact.phone(given)
