"""The test OIDC provider is a real one: discovery, authorization code with PKCE (S256) and a nonce, a signed
ID token carrying the personal identity code, and PKCE refused when it is missing. Told to tamper, it issues ID
tokens with a wrong claim that are still signed with its key."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidClaimError
from joserfc.jwk import KeySet

from .oidc_provider import OidcProvider, sign_in_at_provider

CLIENT_ID, CLIENT_SECRET = "polku-web", "polku-web-secret"
REDIRECT_URI = "http://127.0.0.1:5000/auth/callback"  # never requested: the flow stops at the redirect to it


@pytest.fixture(scope="module")
def provider():
    with OidcProvider([{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                        "redirect_uris": [REDIRECT_URI]}]) as provider:
        yield provider


@pytest.fixture(scope="module")
def metadata(provider):
    response = requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=5)
    assert response.status_code == 200
    return response.json()


def oauth_client(**kwargs) -> OAuth2Session:
    return OAuth2Session(CLIENT_ID, CLIENT_SECRET, scope="openid profile", redirect_uri=REDIRECT_URI, **kwargs)


def callback(url: str) -> dict[str, str]:
    assert url.startswith(f"{REDIRECT_URI}?"), url
    return {key: value for key, [value] in parse_qs(urlsplit(url).query).items()}


def test_discovery_document(provider, metadata):
    assert provider.issuer.startswith("http://127.0.0.1:")
    assert metadata["issuer"] == provider.issuer
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        assert metadata[endpoint].startswith(f"{provider.issuer}/")
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert {"openid", "profile"} <= set(metadata["scopes_supported"])
    assert {"sub", "name", "personal_identity_code"} <= set(metadata["claims_supported"])
    assert metadata["authorization_response_iss_parameter_supported"] is True


def code_flow(provider: OidcProvider, metadata: dict, login: str) -> tuple[OAuth2Session, dict, CodeIDToken]:
    """Sign `login` in with PKCE and a nonce; the client, its token and the ID token's claims, not yet validated.

    The claims are read as Authlib's own OpenID client does: the signature checked by joserfc against the JWKS,
    the claims left to Authlib's CodeIDToken, here told to check the audience as well as the issuer.
    """
    client = oauth_client(code_challenge_method="S256")
    code_verifier, nonce = generate_token(48), generate_token(20)
    authorize_url, state = client.create_authorization_url(metadata["authorization_endpoint"],
                                                           code_verifier=code_verifier, nonce=nonce)
    assert "code_challenge_method=S256" in authorize_url

    redirect = sign_in_at_provider(requests.Session(), authorize_url, login, redirect_prefix=REDIRECT_URI)
    params = callback(redirect)
    assert params["state"] == state and params["iss"] == provider.issuer and params["code"]

    token = client.fetch_token(metadata["token_endpoint"], authorization_response=redirect,
                               code_verifier=code_verifier)
    assert token["token_type"].lower() == "bearer" and token["access_token"]

    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=5).json())
    id_token = jwt.decode(token["id_token"], keys, algorithms=metadata["id_token_signing_alg_values_supported"])
    options = {"iss": {"essential": True, "value": provider.issuer}, "aud": {"essential": True, "value": CLIENT_ID}}
    claims = CodeIDToken(id_token.claims, id_token.header, options,
                         {"client_id": CLIENT_ID, "nonce": nonce, "access_token": token["access_token"]})
    return client, token, claims


@pytest.mark.parametrize(("login", "name", "code"), [("asiakas-1", "Aino Asiakas", "010150-902E"),
                                                      ("hoitaja-1", "Hanna Hoitaja", "150385-9356")])
def test_code_flow_with_pkce_and_nonce(provider, metadata, login, name, code):
    client, token, claims = code_flow(provider, metadata, login)
    claims.validate()
    assert claims["iss"] == provider.issuer and claims["aud"] == CLIENT_ID
    assert claims["nonce"] == claims.params["nonce"] and claims["sub"] == login
    assert set(claims) == {"iss", "aud", "sub", "nonce", "iat", "exp", "name", "personal_identity_code"}
    assert claims.header["alg"] == "RS256"
    assert claims["name"] == name
    assert claims["personal_identity_code"] == code

    userinfo = client.get(metadata["userinfo_endpoint"], timeout=5).json()
    assert userinfo == {"sub": login, "name": name, "personal_identity_code": code}


def test_authorization_without_pkce_is_refused(metadata):
    authorize_url, _ = oauth_client().create_authorization_url(metadata["authorization_endpoint"],
                                                               nonce=generate_token(20))
    assert "code_challenge" not in authorize_url

    redirect = sign_in_at_provider(requests.Session(), authorize_url, "asiakas-1", redirect_prefix=REDIRECT_URI)
    params = callback(redirect)
    assert params["error"] == "invalid_request"
    assert "PKCE" in params["error_description"]
    assert "code" not in params


def test_code_exchange_without_verifier_is_refused(metadata):
    client = oauth_client(code_challenge_method="S256")
    authorize_url, _ = client.create_authorization_url(metadata["authorization_endpoint"],
                                                       code_verifier=generate_token(48), nonce=generate_token(20))
    code = callback(sign_in_at_provider(requests.Session(), authorize_url, "asiakas-1", REDIRECT_URI))["code"]

    response = requests.post(metadata["token_endpoint"], auth=(CLIENT_ID, CLIENT_SECRET), timeout=5, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("tamper", [{"aud": "someone-else"}, {"iss": "http://127.0.0.1:1"},
                                    {"nonce": "not-the-one"}], ids=["aud", "iss", "nonce"])
def test_tampered_id_tokens_are_signed_but_carry_the_wrong_claim(tamper):
    [(claim, wrong)] = tamper.items()
    with OidcProvider([{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [REDIRECT_URI]}],
                      tamper=tamper) as provider:
        metadata = requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=5).json()
        claims = code_flow(provider, metadata, "asiakas-1")[2]  # the signature checks out

        assert claims[claim] == wrong
        assert claims["sub"] == "asiakas-1" and claims["personal_identity_code"] == "010150-902E"
        assert claims.header == {"alg": "RS256", "kid": "polku-test"}
        with pytest.raises(InvalidClaimError, match=claim):
            claims.validate()


def test_tamper_must_be_an_object_of_claims():
    with pytest.raises(RuntimeError, match="OIDC_TAMPER must be a JSON object"), OidcProvider([], tamper=["aud"]):
        pass  # pragma: no cover
