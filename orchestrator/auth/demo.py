"""The people of the test sign-in: a stand-in for strong authentication in development only."""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

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
    subject = f"dev:{demo.key}"
    person = db.session.scalar(select(Person).where(Person.subject == subject))
    if person is None:
        person = Person(subject=subject, name=demo.name, client_id=demo.client_id,
                        personal_identity_code=demo.identity_code, roles=[demo.role])
        person.teams = [team(key) for key in demo.teams]
        db.session.add(person)
        db.session.commit()  # before any step's own transaction, which starts from a clean session
    return person


def team(key: str) -> CareTeam:
    found = db.session.scalar(select(CareTeam).where(CareTeam.key == key))
    if found is None:
        found = CareTeam(key=key, name=key)
        db.session.add(found)
        db.session.flush()
    return found


def ensure_all() -> None:
    """Every demo person exists, so professionals see the demo clients by name before they sign in."""
    subjects = set(db.session.scalars(select(Person.subject).where(Person.subject.like("dev:%"))))
    missing = [demo for demo in DEMO_PEOPLE if f"dev:{demo.key}" not in subjects]
    for demo in missing:
        person_for(demo)
