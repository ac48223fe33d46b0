"""GET and PUT /api/v1/me/channels: the signed-in person's own channels as her settings page has them — a client's
`email` and `sms` reminders, a professional's `digest` — and their `language`; null withdraws, what is left out
stays. Bad values are a 422 naming each field; systems, designers and administrators have no channels (403); a
cookie-signed PUT needs the CSRF header.

These fail (404) until ``orchestrator/api/channels.py`` is registered in ``orchestrator/api/__init__.py``."""

import pytest
from sqlalchemy import func, select

from orchestrator.extensions import db
from orchestrator.models import AccessLog, ContactChoice

from .conftest import Web

URL = "/api/v1/me/channels"


def as_(client, actor: str):
    """GET and PUT as a demo person or a system (the development X-Polku-Actor header)."""
    headers = {"X-Polku-Actor": actor}
    return (lambda: client.get(URL, headers=headers)), (lambda body: client.put(URL, json=body, headers=headers))


def rows(owner: str) -> list[tuple]:
    db.session.rollback()
    return [tuple(r) for r in db.session.execute(select(ContactChoice.channel, ContactChoice.address,
                                                        ContactChoice.language)
                                                 .where(ContactChoice.owner == owner).order_by(ContactChoice.id))]


def test_a_client_reads_chooses_changes_and_withdraws_her_channels(client, ctx):
    get, put = as_(client, "asiakas-123")
    assert (get().status_code, get().json) == (200, {"email": None, "sms": None, "language": "fi"})
    chosen = put({"email": " Aino@Example.ORG", "sms": "040 123 4567", "language": "sv"})
    assert (chosen.status_code, chosen.json) == (200, {"email": "Aino@example.org", "sms": "+358401234567",
                                                       "language": "sv"})
    assert put({"sms": None}).json == {"email": "Aino@example.org", "sms": None, "language": "sv"}, "email stays"
    assert put({"language": "en"}).json == {"email": "Aino@example.org", "sms": None, "language": "en"}
    assert put({"email": ""}).json == {"email": None, "sms": None, "language": "en"}
    assert get().json == {"email": None, "sms": None, "language": "en"}
    assert rows("asiakas-123") == [("email", "Aino@example.org", "sv"), ("sms", "+358401234567", "sv"),
                                   ("sms", None, "sv"), ("email", "Aino@example.org", "en"), ("email", None, "en")]
    logged = db.session.scalar(select(func.count()).select_from(AccessLog).where(
        AccessLog.client_id == "asiakas-123", AccessLog.object_type == "contact-choices"))
    assert logged == 7, "each answer showing her choices is in her access log"


def test_bad_values_are_a_422_naming_each_field_and_change_nothing(client, ctx):
    _, put = as_(client, "asiakas-123")
    refused = put({"email": "aino@@example.org", "sms": "09 123 4567", "language": "de"})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json["errors"]] == ["/email", "/language", "/sms"]
    assert "name@example.fi" in refused.json["errors"][0]["message"]
    assert "not a Finnish mobile number" in refused.json["errors"][2]["message"]
    assert put({"email": 5}).status_code == 422, "the schema's own check"
    assert put({"email": "x@example.org", "colour": "blue"}).status_code == 422, "an unknown field"
    assert rows("asiakas-123") == []


def test_a_professional_has_her_daily_digest_and_no_reminders(client, ctx):
    get, put = as_(client, "hoitaja.virtanen")
    assert get().json == {"digest": None, "language": "fi"}
    assert put({"digest": "hanna@hyvinvointialue.example"}).json == {"digest": "hanna@hyvinvointialue.example",
                                                                     "language": "fi"}
    refused = put({"email": "hanna@example.org", "sms": "0401234567"})
    assert refused.status_code == 422 and [e["field"] for e in refused.json["errors"]] == ["/email", "/sms"]
    assert put({"digest": None}).json == {"digest": None, "language": "fi"}
    assert rows("hoitaja.virtanen") == [("digest", "hanna@hyvinvointialue.example", "fi"), ("digest", None, "fi")]


def test_each_reads_and_changes_only_her_own(client, ctx):
    as_(client, "asiakas-123")[1]({"email": "aino@example.org"})
    as_(client, "hoitaja.virtanen")[1]({"digest": "hanna@hyvinvointialue.example"})
    assert as_(client, "asiakas-456")[0]().json == {"email": None, "sms": None, "language": "fi"}
    assert as_(client, "hoitaja.nieminen")[0]().json == {"digest": None, "language": "fi"}
    as_(client, "asiakas-456")[1]({"email": None})
    assert rows("asiakas-123") == [("email", "aino@example.org", "fi")]


@pytest.mark.parametrize("caller", ["laboratorio", "suunnittelija.laine", "yllapitaja.makinen"])
def test_systems_designers_and_administrators_have_no_channels(client, ctx, caller):
    get, put = as_(client, caller)
    assert get().status_code == 403 and put({"email": "x@example.org"}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(ContactChoice)) == 0


def test_a_cookie_signed_put_needs_the_csrf_header(app, ctx):
    aino = Web(app.test_client()).sign_in("asiakas-123")
    assert aino.client.put(URL, json={"email": "aino@example.org"}).status_code == 400
    assert rows("asiakas-123") == []
    done = aino.client.put(URL, json={"email": "aino@example.org"}, headers={"X-CSRFToken": aino.token})
    assert done.status_code == 200 and done.json["email"] == "aino@example.org"
    assert aino.client.get(URL).json["email"] == "aino@example.org"


def test_the_openapi_document_describes_both(client):
    document = client.get("/api/v1/openapi.json").json
    assert set(document["paths"][URL]) >= {"get", "put"}
