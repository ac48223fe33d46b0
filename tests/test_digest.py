"""The professionals' daily digest, through the outbox to a real SMTP server on loopback: at 07:00 local time one
e-mail per professional who chose it, with each of her care teams' new alerts (urgent, opened in the last 24 hours,
still open) and late client messages (past their reply-by time) as counts, a link to the inbox, and nothing of any
client; none on a day with nothing to tell; never two for one person and day, however many processes write them."""

import threading
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from orchestrator import create_app
from orchestrator.auth import demo
from orchestrator.care import enrolment, messaging, observations
from orchestrator.clock import CLOCK
from orchestrator.core import outbox, queries, steps
from orchestrator.core.database import write
from orchestrator.extensions import db
from orchestrator.models import ContactChoice, HumanTask, Instance, Outgoing
from orchestrator.reach import digest

from .conftest import _config
from .helpers import deploy_all, open_task
from .reach_servers import smtp_server
from .test_reach import reaching

HELSINKI = ZoneInfo("Europe/Helsinki")
MONDAY = datetime(2027, 1, 11, 10, 0, tzinfo=HELSINKI)  # a plain working week: no holiday until Friday
THURSDAY_7 = datetime(2027, 1, 14, 7, 0, tzinfo=HELSINKI)
# What a digest must never carry: the clients, their pathways and tasks, readings, what they wrote.
CLIENT_DETAILS = ("Aino", "Asiakas", "Bertil", "Klient", "asiakas-123", "asiakas-456", "Verenpaine", "verenpaine",
                  "Painonhallinta", "painonhallinta", "168", "104", "mmHg", "Kohonn", "kohonn", "Kysymys", "paino")


def chose(owner: str, address: str | None, language: str = "en") -> None:
    with write():
        db.session.add(ContactChoice(owner=owner, channel="digest", address=address, language=language,
                                     at=CLOCK.now()))


def like(task_id: str, n: int = 1, **values) -> None:
    """``n`` task rows like this one (a copy of its row with ``values`` changed), e.g. another team's alert."""
    row = dict(db.session.execute(select(HumanTask.__table__).where(HumanTask.id == task_id)).mappings().one())
    db.session.execute(insert(HumanTask.__table__), [{**row, "id": str(uuid.uuid4()), **values} for _ in range(n)])
    db.session.commit()


@pytest.fixture
def week(app, ctx, clock):
    """Aino on home blood pressure and Bertil on weight management, both followed by the team Hoitaja; Hanna is
    also of the team Lääkäri (Lauri's). Monday 10:00 both write to the team (a reply is due Wednesday 16:00).
    Monday noon an urgent task opens for each team; Wednesday noon Aino's high reading raises the pathway's alert
    for Hoitaja, and Aino writes again (due Friday). Also open: a routine task, and a finished alert."""
    CLOCK.set(MONDAY)
    deploy_all()
    for person in ("hoitaja.virtanen", "hoitaja.nieminen", "laakari.korhonen", "asiakas-123", "asiakas-456"):
        demo.person_for(demo.BY_KEY[person])
    with write():
        hanna = demo.person_for(demo.BY_KEY["hoitaja.virtanen"])
        hanna.teams = [*hanna.teams, demo.team("Lääkäri")]
    pressure = enrolment.join(queries.pathway_or_404("verenpaine").latest, "asiakas-123", "asiakas-123", "given")
    weight = enrolment.join(queries.pathway_or_404("painonhallinta").latest, "asiakas-456", "asiakas-456", "given",
                            {"ruokapaivakirja": False, "liikuntapaivakirja": False})
    for instance, name in ((pressure, "Aino"), (weight, "Bertil")):
        messaging.send(db.session.get(Instance, instance.id), "client", instance.client_id, name, "Kysymys: voinko?")
    steps.complete(open_task(pressure.id, "mittausohje").id, {}, "asiakas-123")
    CLOCK.set(datetime(2027, 1, 13, 12, 0, tzinfo=HELSINKI))
    db.session.rollback()
    observations.record(db.session.get(Instance, pressure.id), {"systolic": 168, "diastolic": 104}, CLOCK.now(),
                        "asiakas-123", CLOCK.now())
    alert = open_task(pressure.id, "kohonneet_arvot")
    assert alert is not None and alert.priority > 50 and alert.queue == "Hoitaja"
    now, monday = CLOCK.now(), CLOCK.now() - timedelta(days=2)  # UTC, as the columns take it
    like(alert.id, priority=90, created_at=monday)  # an alert for Hoitaja on Monday: not new on Thursday
    like(alert.id, priority=90, created_at=monday, queue="Lääkäri")  # nor Lääkäri's
    like(alert.id, 2, priority=90, created_at=now, queue="Lääkäri")  # two new alerts for Lääkäri
    like(alert.id, priority=50, created_at=now)  # routine: not an alert
    like(alert.id, priority=90, created_at=now, state="completed", completed_at=now)  # dealt with already
    messaging.send(db.session.get(Instance, pressure.id), "client", "asiakas-123", "Aino", "Kysymys taas")
    db.session.rollback()
    return {"pressure": pressure.id, "weight": weight.id}


def digests() -> list[Outgoing]:
    db.session.rollback()
    return list(db.session.scalars(select(Outgoing).where(Outgoing.kind == "digest").order_by(Outgoing.recipient)))


def test_at_seven_each_professional_gets_her_teams_counts_by_e_mail_and_nothing_of_any_client(app, week):
    chose("hoitaja.virtanen", "hanna.virtanen@hyvinvointialue.example")
    chose("laakari.korhonen", "lauri@hyvinvointialue.example", "sv")
    chose("hoitaja.nieminen", "noora@hyvinvointialue.example")
    chose("hoitaja.nieminen", None)  # withdrawn
    CLOCK.set(THURSDAY_7 - timedelta(minutes=1))
    assert not digest.due(CLOCK.now()), "not before seven"
    CLOCK.set(THURSDAY_7)
    assert digest.due(CLOCK.now())
    with smtp_server() as (port, mails):
        reaching(app, POLKU_SMTP_HOST="127.0.0.1", POLKU_SMTP_PORT=port, POLKU_SMTP_STARTTLS=False,
                 POLKU_PUBLIC_URL="https://polku.example")
        assert digest.send_digests(CLOCK.now()) == 2
        assert not digest.due(CLOCK.now()), "written for today"
        assert [(d.recipient, d.channel, d.reference) for d in digests()] == [
            ("hanna.virtanen@hyvinvointialue.example", "email", "digest-hoitaja.virtanen-2027-01-14"),
            ("lauri@hyvinvointialue.example", "email", "digest-laakari.korhonen-2027-01-14")]
        assert outbox.send_due() == 2
        by_recipient = {mail["To"]: mail for mail in mails}
    hanna = by_recipient["hanna.virtanen@hyvinvointialue.example"]
    assert hanna["Subject"] == "Polku: your daily summary"
    body = hanna.get_content().replace("\r\n", "\n")
    # Hoitaja: Wednesday's alert (Monday's is not new; the routine task and the finished alert are none); Aino's
    # and Bertil's Monday messages are late, Aino's Wednesday one is not yet. Lääkäri: Wednesday's two.
    assert "Hoitaja: 1 new alert, 2 late client messages\n" in body
    assert "Lääkäri: 2 new alerts\n" in body
    assert "https://polku.example/work\n" in body and "https://polku.example/work/settings" in body
    # Noora chooses it again at 08:00, when another alert opens; a process started at 10:00 writes hers as the
    # inboxes were at seven (and as they still are), like Hanna's.
    CLOCK.set(THURSDAY_7 + timedelta(hours=1))
    chose("hoitaja.nieminen", "noora@hyvinvointialue.example")
    alert = db.session.scalars(select(HumanTask.id).where(HumanTask.queue == "Hoitaja", HumanTask.state == "open")
                               ).first()
    like(alert, priority=90, created_at=CLOCK.now())
    CLOCK.set(THURSDAY_7 + timedelta(hours=3))
    app.extensions.pop(digest.DONE)
    assert digest.send_digests(CLOCK.now()) == 1
    [noora] = [d for d in digests() if d.recipient.startswith("noora")]
    assert "Hoitaja: 1 new alert, 2 late client messages\n" in noora.body and "Lääkäri" not in noora.body
    lauri = by_recipient["lauri@hyvinvointialue.example"].get_content()
    assert "Lääkäri: 2" in lauri and "Hoitaja" not in lauri, "only her own teams"
    for mail in by_recipient.values():
        said = mail["Subject"] + mail.get_content()
        assert not [word for word in CLIENT_DETAILS if word in said], said
        assert mail["Message-ID"].startswith("<digest-")


@pytest.mark.clock(datetime(2027, 1, 11, 7, 0, tzinfo=HELSINKI))
def test_no_digest_when_nothing_is_new_or_late(app, ctx, clock):
    deploy_all()
    demo.person_for(demo.BY_KEY["hoitaja.virtanen"])
    chose("hoitaja.virtanen", "hanna@hyvinvointialue.example")
    with smtp_server() as (port, mails):
        reaching(app, POLKU_SMTP_HOST="127.0.0.1", POLKU_SMTP_PORT=port, POLKU_SMTP_STARTTLS=False)
        assert digest.send_digests(CLOCK.now()) == 0
        assert outbox.send_due() == 0 and mails == [] and digests() == []


def test_a_client_or_someone_no_longer_a_professional_gets_none(app, week):
    chose("asiakas-123", "aino@example.org")  # a digest choice by a client's id is nobody's digest
    chose("hoitaja.virtanen", "hanna@hyvinvointialue.example")
    with write():
        demo.person_for(demo.BY_KEY["hoitaja.virtanen"]).roles = ["client"]
    CLOCK.set(THURSDAY_7)
    assert digest.send_digests(CLOCK.now()) == 0 and digests() == []


def test_never_two_digests_for_one_person_and_day_however_many_processes_write_them(app, week, tmp_path):
    chose("hoitaja.virtanen", "hanna@hyvinvointialue.example")
    CLOCK.set(THURSDAY_7 + timedelta(minutes=1))
    others = [create_app(_config(tmp_path)) for _ in range(3)]  # processes of their own, on the same database
    try:
        written, failed = [], []

        def process(other):
            try:
                with other.app_context():
                    written.append(digest.send_digests(CLOCK.now()))
            except Exception as exc:  # noqa: BLE001 - reported below
                failed.append(exc)

        threads = [threading.Thread(target=process, args=(other,)) for other in others]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert failed == [] and sorted(written) == [0, 0, 1], "one of them wrote it"
        assert digest.send_digests(CLOCK.now()) == 0, "this process too finds it written"
        app.extensions.pop(digest.DONE, None)  # a restart later that morning
        CLOCK.set(THURSDAY_7 + timedelta(hours=3))
        assert digest.due(CLOCK.now()) and digest.send_digests(CLOCK.now()) == 0
        [row] = digests()
        with write():  # a second insert of the same reference does nothing, whoever checked before
            assert digest._insert_once({c.name: getattr(row, c.name) for c in Outgoing.__table__.c
                                        if c.name != "id"}) == 0
        assert len(digests()) == 1
        CLOCK.set(THURSDAY_7 + timedelta(days=1))
        assert digest.due(CLOCK.now()), "the next morning"
        assert digest.send_digests(CLOCK.now()) == 1 and len(digests()) == 2
    finally:
        for other in others:
            with other.app_context():
                db.engine.dispose()


def test_seven_o_clock_is_the_service_s_local_time_in_summer_too(app, ctx, clock):
    CLOCK.set(datetime(2027, 7, 1, 3, 59, tzinfo=ZoneInfo("UTC")))  # 06:59 in Helsinki (UTC+3)
    assert not digest.due(CLOCK.now())
    CLOCK.set(datetime(2027, 7, 1, 4, 0, tzinfo=ZoneInfo("UTC")))
    assert digest.due(CLOCK.now())
    assert digest.reference("hoitaja.virtanen", datetime(2027, 7, 1).date()) == "digest-hoitaja.virtanen-2027-07-01"
    odd = digest.reference("oidc:käyttäjä <x@y>", datetime(2027, 7, 1).date())
    assert odd.startswith("digest-h") and len(odd) <= 100 and " " not in odd and "@" not in odd
