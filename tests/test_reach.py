"""Reminders that leave Polku: e-mail to a real SMTP server and SMS to an HTTP gateway on loopback, through the
outbox (written in the step's transaction, sent after commit, retried, never twice, never in the quiet hours)."""

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from orchestrator.auth import demo
from orchestrator.clock import CLOCK
from orchestrator.core import firing, outbox, steps
from orchestrator.core.database import write
from orchestrator.extensions import db
from orchestrator.models import ContactChoice, DeliveryAttempt, HumanTask, Outgoing
from orchestrator.reach import channels
from orchestrator.tools import deploy

from .conftest import ROOT
from .reach_servers import http_gateway, smtp_server

HELSINKI = ZoneInfo("Europe/Helsinki")
START = datetime(2027, 1, 4, 9, 0, tzinfo=HELSINKI)  # a Monday
# What a reminder must never say outside Polku: the pathway, its tasks, anything of the client's health.
FIRST_ANSWERS = json.loads((ROOT / "tests" / "fixtures" / "simulations" / "painonhallinta.json").read_text(
    encoding="utf-8"))["tasks"]["aloituskysely"]
HEALTH = ("Painonhallinta", "painonhallinta", "aloituskysely", "paino", "Paino", "kg")


def reaching(app, **config) -> None:
    app.config.update(config)
    channels.install(app)


def chose(owner: str, channel: str, address: str | None, language: str = "fi") -> None:
    with write():
        db.session.add(ContactChoice(owner=owner, channel=channel, address=address, language=language,
                                     at=CLOCK.now()))


def weight_pathway(client_id: str) -> int:
    [deployed] = deploy.deploy([deploy.from_dir(ROOT / "bpmn" / "painonhallinta", ROOT / "forms")], "tester")
    return steps.start(deployed.version, "hoitaja", {"ruokapaivakirja": False, "liikuntapaivakirja": False},
                       None, client_id).id


def days(n: float) -> None:
    CLOCK.advance(timedelta(days=n))
    firing.fire_due()


def rows() -> list[Outgoing]:
    db.session.rollback()
    return list(db.session.scalars(select(Outgoing).order_by(Outgoing.id)))


@pytest.mark.clock(START)
def test_a_simulated_weight_pathways_reminders_arrive_by_e_mail_without_health_details(app, ctx, clock):
    with smtp_server() as (port, mails):
        reaching(app, POLKU_SMTP_HOST="127.0.0.1", POLKU_SMTP_PORT=port, POLKU_SMTP_STARTTLS=False,
                 POLKU_PUBLIC_URL="https://polku.example")
        chose("asiakas-1", "email", "aino@example.org")
        instance = weight_pathway("asiakas-1")
        assert rows() == [], "nothing to tell yet"
        days(2.01)  # the start questionnaire is unanswered: its reminder after two days
        assert [(r.channel, r.kind, r.status) for r in rows()] == [("email", "reminder", "pending")]
        assert outbox.send_due() == 1
        [mail] = mails
        assert mail["To"] == "aino@example.org" and mail["Subject"] == "Polku: sinulla on jotain odottamassa"
        body = mail.get_content()
        assert f"https://polku.example/me/pathways/{instance}" in body
        assert not [word for word in HEALTH if word in body + mail["Subject"]]
        assert mail["Message-ID"] == f"<{rows()[0].reference}@polku>"
        assert [r.status for r in rows()] == ["sent"] and outbox.send_due() == 0, "sent once"
        task = db.session.scalars(select(HumanTask).where(HumanTask.state == "open",
                                                          HumanTask.spec == "aloituskysely")).one()
        steps.complete(task.id, FIRST_ANSWERS, "asiakas-1")
        for _ in range(21):  # three weeks on, no weighing done: each week's weighing is reminded of
            days(1)
            outbox.send_due()
        assert len(mails) == 4, [m["Date"] for m in mails]
        for mail in mails:
            text = mail.get_content()
            assert not [word for word in HEALTH if word in text + mail["Subject"]], text
            assert mail["Subject"] == "Polku: sinulla on jotain odottamassa"
        reminded = [datetime.fromisoformat(str(r.sent_at)).astimezone(HELSINKI).hour for r in rows()]
        assert all(7 <= hour < 21 for hour in reminded), f"in the daytime only: {reminded}"


@pytest.mark.clock(datetime(2027, 1, 4, 21, 0, tzinfo=HELSINKI) - timedelta(days=2))
def test_an_sms_due_at_23_waits_for_the_morning(app, ctx, clock):
    with http_gateway() as (url, gateway):
        reaching(app, POLKU_SMS_URL=url, POLKU_SMS_CREDENTIAL="bearer:salainen")
        chose("asiakas-2", "sms", "+358401234567", language="sv")
        weight_pathway("asiakas-2")  # started at 21:00: its reminder falls due two days later at 21:00
        CLOCK.set(datetime(2027, 1, 4, 23, 0, tzinfo=HELSINKI))
        firing.fire_due()
        [row] = rows()
        assert row.due_at == datetime(2027, 1, 5, 8, 0, tzinfo=HELSINKI), "quiet hours: the next morning at 8"
        assert outbox.send_due() == 0 and gateway.received == []
        CLOCK.set(datetime(2027, 1, 5, 8, 0, tzinfo=HELSINKI))
        assert outbox.send_due() == 1
        [sms] = gateway.received
        assert sms["body"]["to"] == "+358401234567" and sms["headers"]["Authorization"] == "Bearer salainen"
        assert sms["body"]["text"].startswith("En påminnelse från Polku")
        assert sms["headers"]["Idempotency-Key"] == sms["body"]["reference"] == row.reference


@pytest.mark.clock(START)
def test_the_gateway_down_three_times_delivers_on_the_fourth_attempt_once(app, ctx, clock):
    with http_gateway(refuse_first=3) as (url, gateway):
        reaching(app, POLKU_SMS_URL=url, POLKU_SMS_QUIET_HOURS="00:00-00:00")
        with write():
            outbox.add([outbox.message("sms", "+358401234567", "Muistutus", "reminder")])
        for attempt in range(3):
            assert outbox.send_due() == 0
            [row] = rows()
            assert (row.status, row.attempts) == ("pending", attempt + 1)
            assert row.due_at == CLOCK.now() + outbox.pause(attempt + 1), "it waits longer each time"
            assert outbox.send_due() == 0, "not before its time"
            CLOCK.set(row.due_at)
        assert outbox.send_due() == 1
        assert len(gateway.received) == 1 and [r.status for r in rows()] == ["sent"]
        tries = db.session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()
        assert [t.ok for t in tries] == [False, False, False, True]
        assert "503" in tries[0].detail


@pytest.mark.clock(START)
def test_a_message_no_one_takes_is_dead_after_its_attempts(app, ctx, clock):
    reaching(app, POLKU_SMS_URL="http://127.0.0.1:9/nowhere", POLKU_OUTBOX_ATTEMPTS=3)
    with write():
        outbox.add([outbox.message("sms", "+358401234567", "Muistutus", "reminder")])
    for _ in range(3):
        outbox.send_due()
        CLOCK.set(rows()[0].due_at)
    [row] = rows()
    assert (row.status, row.attempts) == ("dead", 3) and "SMS gateway" in row.last_error
    assert outbox.state() == {"pending": 0, "sent": 0, "dead": 1, "due": 0}


@pytest.mark.clock(START)
def test_a_withdrawn_channel_gets_nothing(app, ctx, clock):
    with smtp_server() as (port, mails):
        reaching(app, POLKU_SMTP_HOST="127.0.0.1", POLKU_SMTP_PORT=port, POLKU_SMTP_STARTTLS=False)
        chose("asiakas-3", "email", "bertil@example.org")
        chose("asiakas-3", "email", None)
        weight_pathway("asiakas-3")
        days(2.01)
        assert rows() == [] and outbox.send_due() == 0 and mails == []


@pytest.mark.clock(START)
def test_the_console_shows_the_outbox_and_what_was_given_up_without_its_address(app, ctx, clock, web_as):
    reaching(app, POLKU_SMS_URL="http://127.0.0.1:9/nowhere", POLKU_OUTBOX_ATTEMPTS=1)
    with write():
        outbox.add([outbox.message("sms", "+358401234567", "Muistutus", "reminder"),
                    outbox.message("sms", "+358409999999", "Muistutus", "reminder", due_at=START + timedelta(days=1))])
    outbox.send_due()
    web = web_as("yllapitaja.makinen")
    web.get("/lang/en?next=/")
    page = web.get("/admin/incidents").get_data(as_text=True)
    assert "Waiting: 1 (due now: 0)" in page and "Sent: 0" in page and "Given up: 1" in page
    assert "sms · reminder" in page and "SMS gateway" in page
    assert "+35840" not in page, "no one's phone number on the console"


@pytest.mark.clock(START)
def test_the_care_teams_reply_reaches_the_client_by_her_channel(app, api, asking_consent, clock):
    with smtp_server() as (port, mails), app.app_context():
        reaching(app, POLKU_SMTP_HOST="127.0.0.1", POLKU_SMTP_PORT=port, POLKU_SMTP_STARTTLS=False)
        client = demo.person_for(demo.BY_KEY["asiakas-123"]).client_id
        chose(client, "email", "aino@example.org", language="en")
        instance = steps.start(asking_consent.version, "hoitaja", {}, None, client)
        sent = api.client.post(f"/api/v1/instances/{instance.id}/messages", json={"body": "Vastaus"},
                               headers={"X-Polku-Actor": "hoitaja.virtanen"})
        assert sent.status_code in (200, 201), sent.json
        assert outbox.send_due() == 1
        [mail] = mails
        assert mail.get_content().startswith("You have a new message in Polku.") and "Vastaus" not in str(mail)
