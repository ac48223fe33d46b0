"""Informed consent before any remote service starts: self-care from the catalogue, professional ones
from the offer a team made; declining starts nothing, withdrawing ends the pathway; and a pathway's
declared duration ends it."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from orchestrator.core import firing, steps
from orchestrator.extensions import db
from orchestrator.models import Consent, Event, HumanTask, Instance, Offer, Person

from .conftest import ROOT
from .helpers import consent, deploy_kind, text

CONSENT_TEXT = (ROOT / "bpmn" / "esitieto" / "suostumus.md").read_text()
CONSENT_HASH = hashlib.sha256(CONSENT_TEXT.encode()).hexdigest()
AINO_CODE = "010150-998J"
MONDAY = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 09:00 in Helsinki


def instances(client_id: str) -> list[Instance]:
    db.session.rollback()
    return list(db.session.scalars(select(Instance).where(Instance.client_id == client_id)))


def consents(client_id: str) -> list[tuple[str, int | None]]:
    db.session.rollback()
    return [(c.answer, c.instance_id) for c in
            db.session.scalars(select(Consent).where(Consent.client_id == client_id).order_by(Consent.id))]


def test_a_self_care_pathway_starts_only_when_its_consent_is_given(web_as, ctx):
    deploy_kind("self-care", consent=True)
    aino = web_as("asiakas-123")
    asked = aino.post("/me/catalogue", {"pathway": "omahoito"})
    assert asked.status_code == 302 and asked.headers["Location"].endswith("/me/catalogue/omahoito/consent")
    page = text(aino.get("/me/catalogue/omahoito/consent"))
    assert "Osallistuminen on vapaaehtoista." in page and "<script" not in page
    declined = consent(aino, "/me/catalogue/omahoito/consent", "declined")
    assert declined.status_code == 302 and instances("asiakas-123") == []
    assert consents("asiakas-123") == [("declined", None)]
    assert "Et antanut suostumusta, joten polkua ei aloitettu." in text(aino.get(declined.headers["Location"]))
    given = consent(aino, "/me/catalogue/omahoito/consent", "given")
    (instance,) = instances("asiakas-123")
    assert given.headers["Location"].endswith(f"/me/pathways/{instance.id}?started=1")
    assert consents("asiakas-123") == [("declined", None), ("given", instance.id)]
    row = db.session.scalars(select(Consent).where(Consent.answer == "given")).one()
    assert row.text_hash == CONSENT_HASH and row.page == "suostumus.md" and row.version_id == instance.version_id


def test_an_unanswered_consent_starts_nothing_and_says_why(web_as, ctx):
    deploy_kind("self-care", consent=True)
    aino = web_as("asiakas-123")
    refused = consent(aino, "/me/catalogue/omahoito/consent", None)
    assert refused.status_code == 422 and 'id="consent-error"' in text(refused)
    assert instances("asiakas-123") == [] and consents("asiakas-123") == []


def open_for(nurse, code: str, key: str = "esitieto", **modules):
    return nurse.post(f"/work/open/{key}", {"identity_code": code, **{f"module-{m}": "1" for m in modules}})


def test_a_professional_opens_a_pathway_and_it_starts_when_the_client_consents(asking_consent, web_as, ctx):
    hanna, aino = web_as("hoitaja.virtanen"), web_as("asiakas-123")
    assert "Esitiedot ennen vastaanottoa" in text(hanna.get("/work/open"))
    opened = open_for(hanna, AINO_CODE.lower())  # typed in lower case: still her code
    assert opened.status_code == 302 and "/work/clients/asiakas-123" in opened.headers["Location"]
    assert "Se alkaa, kun asiakas antaa suostumuksensa." in text(hanna.get(opened.headers["Location"]))
    assert instances("asiakas-123") == []
    (offer,) = db.session.scalars(select(Offer)).all()
    assert (offer.client_id, offer.state, offer.offered_by) == ("asiakas-123", "pending", "hoitaja.virtanen")
    mine = text(aino.get("/me"))
    assert f"/me/offers/{offer.id}" in mine
    assert "Osallistuminen on vapaaehtoista." in text(aino.get(f"/me/offers/{offer.id}"))
    started = consent(aino, f"/me/offers/{offer.id}", "given")
    (instance,) = instances("asiakas-123")
    assert started.headers["Location"].endswith(f"/me/pathways/{instance.id}?started=1")
    assert instance.started_by == "asiakas-123" and instance.status == "running"
    db.session.refresh(offer)
    assert (offer.state, offer.instance_id) == ("accepted", instance.id)
    assert consents("asiakas-123") == [("given", instance.id)]
    again = consent(aino, f"/me/offers/{offer.id}", "given")  # a second click starts nothing more
    assert again.status_code == 302 and len(instances("asiakas-123")) == 1


def test_a_declined_offer_starts_nothing_and_the_team_sees_it(asking_consent, web_as, ctx):
    hanna, aino = web_as("hoitaja.virtanen"), web_as("asiakas-123")
    open_for(hanna, AINO_CODE)
    offer = db.session.scalars(select(Offer)).one()
    consent(aino, f"/me/offers/{offer.id}", "declined")
    assert instances("asiakas-123") == [] and consents("asiakas-123") == [("declined", None)]
    db.session.refresh(offer)
    assert offer.state == "declined"
    page = text(hanna.get("/work/clients/asiakas-123"))
    assert "Esitiedot ennen vastaanottoa" in page and "Asiakas ei antanut suostumusta" in page


def test_a_wrong_identity_code_is_named_and_a_new_client_waits_for_their_first_sign_in(asking_consent, web_as, ctx):
    hanna = web_as("hoitaja.virtanen")
    wrong = open_for(hanna, "010150-998K")  # the check character is wrong
    assert wrong.status_code == 422 and 'aria-invalid="true"' in text(wrong) and "010150-998K" in text(wrong)
    assert db.session.scalars(select(Offer)).all() == []
    new = open_for(hanna, "131052-308T")
    assert new.status_code == 302
    person = db.session.scalars(select(Person).where(Person.personal_identity_code == "131052-308T")).one()
    assert person.subject.startswith("pending:") and person.roles == ["client"] and person.client_id.startswith("c-")
    assert db.session.scalars(select(Offer)).one().client_id == person.client_id


def test_only_a_team_that_follows_the_pathway_can_open_it(sample, web_as, ctx):
    lauri = web_as("laakari.korhonen")  # Lääkäri: the sample pathway is the nurses'
    assert "Esitiedot" not in text(lauri.get("/work/open"))
    assert open_for(lauri, AINO_CODE).status_code == 404
    assert db.session.scalars(select(Offer)).all() == []


def test_withdrawing_consent_ends_the_pathway_and_it_stays_readable(asking_consent, web_as, ctx):
    hanna, aino = web_as("hoitaja.virtanen"), web_as("asiakas-123")
    open_for(hanna, AINO_CODE)
    offer = db.session.scalars(select(Offer)).one()
    consent(aino, f"/me/offers/{offer.id}", "given")
    (instance,) = instances("asiakas-123")
    assert f"/me/pathways/{instance.id}/withdraw" in text(aino.get(f"/me/pathways/{instance.id}"))
    assert aino.get(f"/me/pathways/{instance.id}/withdraw").status_code == 200
    ended = aino.post(f"/me/pathways/{instance.id}/withdraw", {})
    assert ended.status_code == 302
    (instance,) = instances("asiakas-123")
    assert instance.status == "cancelled" and instance.ended_at is not None
    assert consents("asiakas-123") == [("given", instance.id), ("withdrawn", instance.id)]
    kinds = [e.kind for e in db.session.scalars(select(Event).where(Event.instance_id == instance.id))]
    assert kinds[-1] == "consent_withdrawn"
    assert aino.get(f"/me/pathways/{instance.id}").status_code == 200  # history
    assert aino.post(f"/me/pathways/{instance.id}/withdraw", {}).status_code == 409


@pytest.mark.clock(MONDAY)
def test_a_pathway_ends_itself_when_its_duration_has_passed(sample, api, ctx, clock):
    started = api.start("esitieto", client_id="asiakas-123")
    instance = db.session.get(Instance, started["id"])
    assert instance.ends_at == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)  # P4W: 09:00 in Helsinki, now in summer time
    assert firing.next_due() <= instance.ends_at
    clock.set(instance.ends_at - timedelta(seconds=1))
    assert firing.end_overdue() == 0
    clock.set(instance.ends_at + timedelta(seconds=1))
    assert firing.end_overdue() == 1
    db.session.refresh(instance)
    assert instance.status == "completed" and instance.ended_at == instance.ends_at + timedelta(seconds=1)
    last = db.session.scalars(select(Event).where(Event.instance_id == instance.id).order_by(Event.id.desc())).first()
    assert (last.kind, last.data) == ("duration_ended", {"reason": "the pathway's duration ended"})
    assert firing.end_overdue() == 0


def test_a_double_click_or_a_second_offer_starts_nothing_more(asking_consent, web_as, ctx):
    deploy_kind("self-care", consent=True)
    aino, hanna = web_as("asiakas-123"), web_as("hoitaja.virtanen")
    assert consent(aino, "/me/catalogue/omahoito/consent", "given").status_code == 302
    again = consent(aino, "/me/catalogue/omahoito/consent", "given")
    assert again.status_code == 409 and "Olet jo tällä polulla" in text(again)
    assert len(instances("asiakas-123")) == 1
    assert open_for(hanna, AINO_CODE).status_code == 302
    twice = open_for(hanna, AINO_CODE)  # the same pathway again, while the first offer waits
    assert twice.status_code == 409 and "odottaa hänen suostumustaan" in text(twice)
    assert len(db.session.scalars(select(Offer)).all()) == 1


def test_consent_is_to_the_wording_the_client_read(web_as, ctx):
    deploy_kind("self-care", consent=True)
    aino = web_as("asiakas-123")
    stale = aino.post("/me/catalogue/omahoito/consent", {"text": "0" * 64, "answer": "given"})
    assert stale.status_code == 409 and "Suostumusteksti on muuttunut" in text(stale)
    assert instances("asiakas-123") == [] and consents("asiakas-123") == []


@pytest.mark.clock(MONDAY)
def test_one_pathway_that_cannot_end_does_not_keep_the_others_from_ending(sample, api, ctx, clock, monkeypatch):
    first, second = (api.start("esitieto", client_id=c)["id"] for c in ("asiakas-123", "asiakas-456"))
    real = steps.cancel

    def cancel(instance_id, *args, **kwargs):
        if instance_id == first:
            raise RuntimeError("a broken instance")
        return real(instance_id, *args, **kwargs)

    monkeypatch.setattr(steps, "cancel", cancel)
    clock.set(datetime(2026, 4, 1, tzinfo=UTC))
    assert firing.end_overdue() == 1
    db.session.rollback()
    assert (db.session.get(Instance, first).status, db.session.get(Instance, second).status) == ("running", "completed")


def test_the_care_team_ends_a_professional_pathway_and_the_client_keeps_it_in_history(sample, api, web_as, ctx):
    instance_id = api.start("esitieto", client_id="asiakas-123")["id"]
    hanna, lauri, aino = web_as("hoitaja.virtanen"), web_as("laakari.korhonen"), web_as("asiakas-123")
    assert lauri.post(f"/work/pathways/{instance_id}/end", {}).status_code == 404  # not a team that follows it
    assert aino.post(f"/work/pathways/{instance_id}/end", {}).status_code == 403
    ended = hanna.post(f"/work/pathways/{instance_id}/end", {})
    assert ended.status_code == 302 and "Polku päätettiin" in text(hanna.get(ended.headers["Location"]))
    db.session.rollback()
    instance = db.session.get(Instance, instance_id)
    assert instance.status == "cancelled" and instance.ended_at is not None
    last = db.session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.id.desc())).first()
    assert (last.kind, last.actor) == ("ended_by_team", "hoitaja.virtanen")
    assert last.data == {"reason": "ended by the care team"}
    assert not db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                          HumanTask.state == "open")).all()
    history = text(aino.get(f"/me/pathways/{instance_id}"))
    assert "Päättynyt ennenaikaisesti" in history
    assert hanna.post(f"/work/pathways/{instance_id}/end", {}).status_code == 409
