"""OpenID Connect sign-in against a real provider (tests/oidc): the authorization code flow with PKCE signs a
client in on a new session, the test sign-in is off beside it, and ID tokens or codes that are not this app's
are refused. Nothing is mocked: the app talks HTTP to the provider, which signs every token with its own key."""

import logging
import re
from contextlib import ExitStack
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests
from sqlalchemy import func, select

from orchestrator.auth import oidc
from orchestrator.extensions import db
from orchestrator.models import Person, UserSession

from .conftest import Web, _config, dispose, make_app
from .oidc_provider import OidcProvider, sign_in_at_provider

CLIENT_ID, CLIENT_SECRET = "polku", "polku-secret"
OTHER_ID, OTHER_SECRET = "other-service", "other-service-secret"
# What url_for(..., _external=True) makes of the callback under Flask's test client.
REDIRECT_URI = "http://localhost/sign-in/callback"
COOKIE = "polku_session"
REFUSED = "OpenID Connect sign-in refused"


def registration(client_id: str, secret: str) -> dict:
    return {"client_id": client_id, "client_secret": secret, "redirect_uris": [REDIRECT_URI]}


CLIENTS = [registration(CLIENT_ID, CLIENT_SECRET), registration(OTHER_ID, OTHER_SECRET)]


@pytest.fixture(scope="module")
def provider():
    """The provider, with this app and another service registered at the same redirect URI."""
    with OidcProvider(CLIENTS) as provider:
        yield provider


@pytest.fixture
def app_at(tmp_path):
    """``app_at(provider)``: an app on a fresh database that signs people in at ``provider``."""
    with ExitStack() as stack:

        def make(provider: OidcProvider):
            class Config(_config(tmp_path)):
                POLKU_OIDC_ISSUER = provider.issuer
                POLKU_OIDC_CLIENT_ID = CLIENT_ID
                POLKU_OIDC_CLIENT_SECRET = CLIENT_SECRET
                POLKU_OIDC_SCOPE = "openid profile"
                POLKU_OIDC_IDENTITY_CLAIM = "personal_identity_code"

            app = make_app(Config)
            stack.callback(dispose, app)
            with app.app_context():
                client = oidc.client()
                assert client.client_id == CLIENT_ID
                assert client.load_server_metadata()["issuer"] == provider.issuer
            return app

        yield make


@pytest.fixture
def web(app_at, provider):
    return Web(app_at(provider).test_client())


def query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode({**query(url), **changes})))


def start(web: Web) -> str:
    """Press the sign-in button: the provider's authorization URL the app redirects to."""
    web.token = None  # the session may have changed: take the token from a fresh sign-in page
    response = web.post("/sign-in/oidc")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def at_provider(authorize_url: str, login: str = "asiakas-1") -> str:
    """Sign in at the provider as ``login``; the callback's path and query, for the app's test client."""
    with requests.Session() as browser:
        redirect = sign_in_at_provider(browser, authorize_url, login, redirect_prefix=REDIRECT_URI)
    parts = urlsplit(redirect)
    return f"{parts.path}?{parts.query}"


def sign_in(web: Web, login: str = "asiakas-1"):
    response = web.get(at_provider(start(web), login))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == "/me"
    return response


def session_of(web: Web) -> dict:
    with web.client.session_transaction() as session:
        return dict(session)


def assert_refused(web: Web, response, caplog, reason: str) -> None:
    """The callback answered 401 with the sign-in page, logged why, and nobody is signed in."""
    page = response.get_data(as_text=True)
    assert response.status_code == 401, page
    assert 'role="alert"' in page and 'action="/sign-in/oidc"' in page
    [message] = [r.getMessage() for r in caplog.records if r.getMessage().startswith(REFUSED)]
    assert re.search(reason, message), message
    assert "sid" not in session_of(web)
    me = web.get("/me")
    assert me.status_code == 302 and urlsplit(me.headers["Location"]).path == "/sign-in"
    with web.client.application.app_context():
        assert db.session.scalar(select(func.count()).select_from(Person)) == 0
        assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0


def test_code_flow_with_pkce_signs_a_new_client_in(web, provider):
    authorize_url = start(web)
    asked = query(authorize_url)
    assert authorize_url.startswith(f"{provider.issuer}/auth?")
    assert asked["client_id"] == CLIENT_ID and asked["redirect_uri"] == REDIRECT_URI
    assert asked["response_type"] == "code" and asked["scope"] == "openid profile"
    assert asked["code_challenge_method"] == "S256" and re.fullmatch(r"[\w-]{43}", asked["code_challenge"])
    assert asked["nonce"] and asked["state"]
    before = web.client.get_cookie(COOKIE).value
    waiting = session_of(web)
    assert "sid" not in waiting
    assert f"_state_{oidc.NAME}_{asked['state']}" in waiting  # the nonce and PKCE verifier, in the signed cookie

    callback = at_provider(authorize_url)
    answered = query(callback)
    assert answered["state"] == asked["state"] and answered["iss"] == provider.issuer and answered["code"]
    response = web.get(callback)
    assert response.status_code == 302 and response.headers["Location"] == "/me"

    assert web.client.get_cookie(COOKIE).value != before
    session = session_of(web)
    assert not [key for key in session if key.startswith("_state_")]  # the flow's data is gone with the old session
    with web.client.application.app_context():
        signed_in = db.session.get(UserSession, session["sid"])
        assert signed_in.method == "oidc" and signed_in.role == "client"
        person = db.session.scalars(select(Person)).one()
        assert signed_in.person_id == person.id
        assert person.personal_identity_code == "010150-902E"
        assert person.subject == "oidc:asiakas-1" and person.name == "Aino Asiakas" and person.roles == ["client"]

    me = web.get("/me")
    assert me.status_code == 200
    assert "Aino Asiakas" in me.get_data(as_text=True)


def test_signing_in_again_starts_a_new_session_for_the_same_person(web):
    sign_in(web)
    first = session_of(web)["sid"]
    sign_in(web)
    second = session_of(web)["sid"]

    assert second != first
    with web.client.application.app_context():
        assert db.session.get(UserSession, first) is None
        assert db.session.scalars(select(UserSession.id)).all() == [second]
        assert db.session.scalar(select(func.count()).select_from(Person)) == 1
    assert web.get("/me").status_code == 200


def test_the_test_sign_in_is_refused_beside_oidc(web):
    page = web.get("/sign-in")
    assert page.status_code == 200
    assert 'action="/sign-in/oidc"' in page.get_data(as_text=True)
    assert 'name="person"' not in page.get_data(as_text=True)

    assert web.post("/sign-in/test", {"person": "asiakas-123"}).status_code == 404
    assert "sid" not in session_of(web)
    assert web.get("/me").status_code == 302


@pytest.mark.parametrize(("tamper", "reason"), [({"aud": "someone-else"}, r"Invalid claim: 'aud'|Missing claim: 'azp'"),
                                                ({"aud": "someone-else", "azp": CLIENT_ID}, r"Invalid claim: 'aud'"),
                                                ({"iss": "http://127.0.0.1:1"}, r"Invalid claim: 'iss'"),
                                                ({"nonce": "not-the-one"}, r"Invalid claim: 'nonce'"),
                                                ({"exp": 1}, r"expired_token")],
                         ids=["aud", "aud-with-azp", "iss", "nonce", "exp"])
def test_id_tokens_with_a_wrong_claim_are_refused(app_at, caplog, tamper, reason):
    with OidcProvider(CLIENTS, tamper=tamper) as tampering:
        web = Web(app_at(tampering).test_client())
        callback = at_provider(start(web))
        with caplog.at_level(logging.WARNING):
            response = web.get(callback)
    assert_refused(web, response, caplog, reason)


def test_an_id_token_for_another_authorization_request_is_refused(web, caplog):
    """The provider signs the nonce it was given: not the one this browser's session expects."""
    authorize_url = start(web)
    callback = at_provider(with_query(authorize_url, nonce="not-the-one"))
    with caplog.at_level(logging.WARNING):
        response = web.get(callback)
    assert_refused(web, response, caplog, r"Invalid claim: 'nonce'")


def test_a_code_issued_to_another_client_is_refused(web, caplog):
    authorize_url = start(web)
    callback = at_provider(with_query(authorize_url, client_id=OTHER_ID))
    assert query(callback)["code"]  # the provider did issue one, to the other service
    with caplog.at_level(logging.WARNING):
        response = web.get(callback)
    assert_refused(web, response, caplog, r"invalid_grant: grant request is invalid")
