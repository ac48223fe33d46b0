"""The people of the test sign-in: a stand-in for strong authentication in development only."""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from ..core.database import found_or_made
from ..extensions import db
from ..models import CareTeam, Person
from . import oidc


def dev_sign_in_allowed() -> bool:
    """The test sign-in stands in for strong authentication only in development, and never beside OIDC."""
    return current_app.config["POLKU_ENV"] == "development" and not oidc.configured()


@dataclass(frozen=True)
class DemoPerson:
    key: str
    name: str
    role: str
    client_id: str | None = None
    identity_code: str | None = None
    teams: tuple[str, ...] = ()


DEMO_PEOPLE = (
    DemoPerson("asiakas-123", "Aino Asiakas", "client", "asiakas-123", "010150-998J"),
    DemoPerson("asiakas-456", "Bertil Klient", "client", "asiakas-456", "020245-998P"),
    DemoPerson("hoitaja.virtanen", "Hanna Virtanen", "professional", teams=("Hoitaja",)),
    DemoPerson("hoitaja.nieminen", "Noora Nieminen", "professional", teams=("Hoitaja",)),
    DemoPerson("laakari.korhonen", "Lauri Korhonen", "professional", teams=("Lääkäri",)),
    DemoPerson("suunnittelija.laine", "Sari Laine", "designer"),
    DemoPerson("yllapitaja.makinen", "Matti Mäkinen", "admin"),
)
BY_KEY = {person.key: person for person in DEMO_PEOPLE}


def person_for(demo: DemoPerson) -> Person:
    """The demo person's row, made on first sign-in with their teams."""
    def made() -> Person:
        person = Person(subject=f"dev:{demo.key}", name=demo.name, client_id=demo.client_id,
                        personal_identity_code=demo.identity_code, roles=[demo.role])
        person.teams = [team(key) for key in demo.teams]
        return person

    return found_or_made(select(Person).where(Person.subject == f"dev:{demo.key}"), made)


def team(key: str) -> CareTeam:
    """The care team with this key, made when it does not exist yet."""
    return found_or_made(select(CareTeam).where(CareTeam.key == key), lambda: CareTeam(key=key, name=key))


def ensure_all() -> None:
    """Every demo person exists, so professionals see the demo clients by name before they sign in."""
    subjects = set(db.session.scalars(select(Person.subject).where(Person.subject.like("dev:%"))))
    missing = [demo for demo in DEMO_PEOPLE if f"dev:{demo.key}" not in subjects]
    for demo in missing:
        person_for(demo)
