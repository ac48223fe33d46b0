"""Joining and leaving a pathway: informed consent, a professional's offer, withdrawing.

Remote care needs the client's informed consent. A pathway with a consent page starts only when
the client gives it: a self-care pathway from the catalogue, a professional one from the offer its
team made. The answer, the wording shown (its hash) and the time are kept as ``Consent`` rows,
written in the same transaction as the start or the ending they cause. Declining starts nothing;
withdrawing ends the pathway, which stays readable in the client's history.
"""

import hashlib
from dataclasses import dataclass

from sqlalchemy import select

from ..clock import now
from ..core import steps
from ..core.database import insert_rows, lock, write
from ..core.refusal import N_, Refused
from ..extensions import db
from ..models import ACTIVE, Consent, Instance, Offer, PathwayVersion, Person

ANSWERS = ("given", "declined")


@dataclass(frozen=True)
class ConsentPage:
    name: str
    text: str

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def consent_page(version: PathwayVersion) -> ConsentPage | None:
    """The pathway's consent text, or None for a pathway that declares none."""
    name = (version.settings or {}).get("consent")
    return ConsentPage(name, (version.content or {}).get(name, "")) if name else None


def modules(version: PathwayVersion) -> dict[str, str]:
    """The optional modules a professional can switch on or off: variable name → label."""
    return dict((version.settings or {}).get("modules") or {})


def module_variables(version: PathwayVersion, chosen: set[str]) -> dict[str, bool]:
    """The process variables of the modules: True for each chosen, False for the rest."""
    return {name: name in chosen for name in modules(version)}


def _consent_row(client_id: str, version: PathwayVersion, page: ConsentPage, answer: str,
                 instance_id: int | None = None, offer_id: int | None = None) -> dict:
    return {"client_id": client_id, "version_id": version.id, "page": page.name, "text_hash": page.hash,
            "answer": answer, "at": now(), "instance_id": instance_id, "offer_id": offer_id}


def join(version: PathwayVersion, client_id: str | None, actor: str, answer: str | None,
         variables: dict | None = None, offer: Offer | None = None, business_key: str | None = None):
    """Start the pathway for the client once consent is given; record a refusal and start nothing.

    ``answer`` is ignored for a pathway without a consent page. Returns the instance as its step left it
    (with its open tasks and timers), or None when declined.
    """
    page = consent_page(version)
    if page is not None and answer not in ANSWERS:
        raise Refused(422, N_("answer the consent: given or declined"))
    if page is not None and answer == "declined":
        with write():
            _answer_offer(offer, "declined")
            insert_rows(Consent, [_consent_row(client_id, version, page, "declined", offer_id=offer and offer.id)])
        return None

    def records(instance_id: int) -> None:
        _one_at_a_time(version, client_id, instance_id, by_client=actor == client_id)
        _answer_offer(offer, "accepted", instance_id)
        if page is not None:
            insert_rows(Consent, [_consent_row(client_id, version, page, "given", instance_id, offer and offer.id)])

    return steps.start(version, actor, dict(variables or {}), business_key, client_id, records)


def _one_at_a_time(version: PathwayVersion, client_id: str, new_id: int | None = None,
                   by_client: bool = False) -> None:
    """A client is on a pathway once at a time: a double click or a second offer starts nothing more.
    (An instance for no client, by business key only, is an integration's own and not counted.)

    Inside the write transaction, with the client's row locked, so two at once cannot both pass.
    """
    if client_id is None:
        return
    person = db.session.scalar(select(Person.id).where(Person.client_id == client_id))
    if person is not None:
        lock(Person, person)
    going = select(Instance.id).join(PathwayVersion, PathwayVersion.id == Instance.version_id).where(
        Instance.client_id == client_id, PathwayVersion.pathway_id == version.pathway_id,
        Instance.status.in_(ACTIVE), Instance.id != (new_id or 0))
    if db.session.scalar(going.limit(1)) is not None:
        raise Refused(409, N_("you are on this pathway already") if by_client
                      else N_("the client is on this pathway already"))


def _answer_offer(offer: Offer | None, state: str, instance_id: int | None = None) -> None:
    """Mark an offer answered, inside the write transaction; one answered already cannot be answered again."""
    if offer is None:
        return
    current = lock(Offer, offer.id)
    if current.state != "pending":
        raise Refused(409, N_("this pathway offer was answered already"))
    current.state, current.answered_at, current.instance_id = state, now(), instance_id
    db.session.flush()


def withdraw(instance: Instance, actor: str):
    """The client withdraws consent: it is recorded and the pathway ends, kept in their history."""
    version = instance.version
    page = consent_page(version) or ConsentPage("", "")
    return steps.cancel(instance.id, actor, "consent withdrawn", kind="consent_withdrawn",
                 records=lambda: insert_rows(Consent, [_consent_row(instance.client_id, version, page, "withdrawn",
                                                                    instance.id)]))


def offer(version: PathwayVersion, client_id: str, chosen: set[str], by: str, variables: dict | None = None) -> Offer:
    """A professional opens a pathway for a client; it waits for the client's consent (one offer at a time).
    ``variables`` (a system's own start data) go with it and start the pathway once consent is given."""
    with write():
        _one_at_a_time(version, client_id)
        waiting = select(Offer.id).join(PathwayVersion, PathwayVersion.id == Offer.version_id).where(
            Offer.client_id == client_id, Offer.state == "pending", PathwayVersion.pathway_id == version.pathway_id)
        if db.session.scalar(waiting.limit(1)) is not None:
            raise Refused(409, N_("this pathway already waits for the client's consent"))
        found = Offer(client_id=client_id, version_id=version.id, offered_by=by, offered_at=now(), state="pending",
                      variables={**(variables or {}), **module_variables(version, chosen)})
        db.session.add(found)
    return found


def open_for(version: PathwayVersion, client_id: str, chosen: set[str], by: str):
    """Open a professional pathway: an offer when it asks consent, else the instance at once."""
    if consent_page(version) is None:
        return join(version, client_id, by, None, module_variables(version, chosen))
    return offer(version, client_id, chosen, by)


def start(version: PathwayVersion, client_id: str | None, actor: str, by_client: bool, variables: dict,
          business_key: str | None = None):
    """The one door for starting a pathway from outside the pages (the API), under the pages' rules.

    A pathway that asks consent waits for it: the client's own start is refused with what to consent to,
    anyone else's becomes an offer (its modules on unless ``variables`` switch them off). Otherwise the
    pathway starts, once at a time per client. Returns the instance as its step left it, or the offer.
    """
    page = consent_page(version)
    if page is None:
        return join(version, client_id, actor, None, variables, business_key=business_key)
    if by_client:
        raise Refused(409, N_("this pathway starts once you consent to it"), [consent_of(version)])
    if client_id is None:
        raise Refused(422, N_("a pathway that asks consent is opened for a client: name the client"))
    chosen = {name for name in modules(version) if variables.get(name, True) is not False}
    return offer(version, client_id, chosen, actor, {k: v for k, v in variables.items() if k not in modules(version)})


def answer(version: PathwayVersion, client_id: str, actor: str, given: str, text_hash: str,
           offer: Offer | None = None):
    """A client's answer sent by an app: to the wording they read (its hash), else it is refused.
    Returns the instance as its step left it, or None when declined."""
    page = consent_page(version)
    if page is None:
        raise Refused(404, N_("this pathway asks no consent"))
    if text_hash != page.hash:
        raise Refused(409, N_("the consent text has changed since it was read: read it again"))
    return join(version, client_id, actor, given, offer.variables if offer else {}, offer)


def consent_of(version: PathwayVersion) -> dict:
    """What a client consents to, as the API shows it: the wording, its hash and where to answer."""
    page = consent_page(version)
    return {"pathway": version.pathway.key, "version": version.number, "page": page.name, "text": page.text,
            "text_hash": page.hash, "modules": modules(version)}


def offers(client_id: str, state: str | None = None) -> list[Offer]:
    """The client's offers, oldest first; only those in ``state`` when given."""
    query = select(Offer).where(Offer.client_id == client_id).order_by(Offer.offered_at, Offer.id)
    return list(db.session.scalars(query.where(Offer.state == state) if state else query))


def pending_offers(client_id: str) -> list[Offer]:
    return offers(client_id, "pending")


def consents(instance_id: int) -> list[Consent]:
    return list(db.session.scalars(select(Consent).where(Consent.instance_id == instance_id).order_by(Consent.id)))

