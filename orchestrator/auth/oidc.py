"""OpenID Connect sign-in through Authlib: authorization code with PKCE, nonce and ID-token checks."""

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app
from sqlalchemy import or_, select

from ..core.database import write
from ..extensions import db
from ..models import Person, new_client_id

NAME = "polku"
EXTENSION = "polku_oidc"


def configured(app: Flask | None = None) -> bool:
    return bool((app or current_app).config["POLKU_OIDC_ISSUER"])


def init(app: Flask) -> None:
    """A registry of the app's own: Authlib caches the clients it makes, with their issuer and credentials."""
    if not configured(app):
        return
    oauth = app.extensions[EXTENSION] = OAuth(app)
    issuer = app.config["POLKU_OIDC_ISSUER"].rstrip("/")
    oauth.register(NAME, client_id=app.config["POLKU_OIDC_CLIENT_ID"],
                   client_secret=app.config["POLKU_OIDC_CLIENT_SECRET"],
                   server_metadata_url=f"{issuer}/.well-known/openid-configuration",
                   client_kwargs={"scope": app.config["POLKU_OIDC_SCOPE"], "code_challenge_method": "S256"})


def client():
    return current_app.extensions[EXTENSION].create_client(NAME)


def signed_in_claims() -> dict:
    """Finish the authorization-code flow: the ID token's claims once its signature, issuer, audience
    (this client), nonce and times are checked. Raises on any failure."""
    provider = client()
    token = provider.authorize_access_token(claims_options={
        "iss": {"essential": True, "value": provider.load_server_metadata()["issuer"]},
        "aud": {"essential": True, "value": current_app.config["POLKU_OIDC_CLIENT_ID"]},
    })
    if not token.get("userinfo"):
        raise ValueError("the token response carries no ID token")
    return token["userinfo"]


def person_from(claims: dict) -> Person:
    """The person the ID token names: by personal identity code when it carries one, else by subject.

    Someone new signs in as a client; other roles are given by an administrator.
    """
    subject = f"oidc:{claims['sub']}"
    code = claims.get(current_app.config["POLKU_OIDC_IDENTITY_CLAIM"])
    match = Person.subject == subject if not code else or_(Person.subject == subject,
                                                           Person.personal_identity_code == code)
    name = claims.get("name") or " ".join(filter(None, (claims.get("given_name"), claims.get("family_name"))))
    with write():
        person = db.session.scalar(select(Person).where(match))
        if person is None:
            person = Person(subject=subject, name=name or claims["sub"], personal_identity_code=code,
                            client_id=new_client_id(), roles=["client"])
            db.session.add(person)
        else:
            if person.subject.startswith("pending:"):  # opened for them by a professional before they signed in
                person.subject = subject
            person.name = name or person.name
    return person
