"""OpenID Connect sign-in through Authlib: authorization code with PKCE, nonce and ID-token checks."""

import secrets

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app
from sqlalchemy import or_, select

from ..extensions import db
from ..models import Person

oauth = OAuth()
NAME = "polku"


def configured(app: Flask | None = None) -> bool:
    return bool((app or current_app).config["POLKU_OIDC_ISSUER"])


def init(app: Flask) -> None:
    if not configured(app):
        return
    oauth.init_app(app)
    issuer = app.config["POLKU_OIDC_ISSUER"].rstrip("/")
    oauth.register(NAME, client_id=app.config["POLKU_OIDC_CLIENT_ID"],
                   client_secret=app.config["POLKU_OIDC_CLIENT_SECRET"],
                   server_metadata_url=f"{issuer}/.well-known/openid-configuration",
                   client_kwargs={"scope": app.config["POLKU_OIDC_SCOPE"], "code_challenge_method": "S256"})


def client():
    return oauth.create_client(NAME)


def person_from(claims: dict) -> Person:
    """The person the ID token names: by personal identity code when it carries one, else by subject.

    Someone new signs in as a client; other roles are given by an administrator.
    """
    subject = f"oidc:{claims['sub']}"
    code = claims.get(current_app.config["POLKU_OIDC_IDENTITY_CLAIM"])
    match = Person.subject == subject if not code else or_(Person.subject == subject,
                                                           Person.personal_identity_code == code)
    person = db.session.scalar(select(Person).where(match))
    name = claims.get("name") or " ".join(filter(None, (claims.get("given_name"), claims.get("family_name"))))
    if person is None:
        person = Person(subject=subject, name=name or claims["sub"], personal_identity_code=code,
                        client_id=f"c-{secrets.token_hex(8)}", roles=["client"])
        db.session.add(person)
    elif name:
        person.name = name
    db.session.flush()
    return person
