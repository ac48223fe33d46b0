"""Messages on a professional pathway under its service promise: reply-by times in working days
(weekends and Finnish public holidays excluded), the team inbox sorted by reply-by, late flags,
recorded response times, and notifications both ways."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from orchestrator.care import promise
from orchestrator.engine import PackageInvalid
from orchestrator.extensions import db
from orchestrator.models import Message, Notification
from orchestrator.tools import deploy

from .helpers import package, text

ZONE = "Europe/Helsinki"
pytestmark = pytest.mark.clock(datetime(2027, 12, 3, 13, 30, tzinfo=UTC))  # Friday 15:30 in Helsinki


@pytest.mark.parametrize(("sent", "days", "due"), [
    # Friday afternoon before Independence Day (Monday 6 December 2027): Tue 7 and Wed 8 count.
    (datetime(2027, 12, 3, 13, 30, tzinfo=UTC), 2, datetime(2027, 12, 8, 14, 0, tzinfo=UTC)),
    # Thursday before Easter 2027: Good Friday and Easter Monday are holidays → Tue 30, Wed 31 March.
    (datetime(2027, 3, 25, 12, 0, tzinfo=UTC), 2, datetime(2027, 3, 31, 13, 0, tzinfo=UTC)),  # summer time
    # Wednesday before Midsummer: Thu 24 June counts, Midsummer Eve (Fri 25) does not → Mon 28.
    (datetime(2027, 6, 23, 9, 0, tzinfo=UTC), 2, datetime(2027, 6, 28, 13, 0, tzinfo=UTC)),
    # Christmas 2026: Thu 24, Fri 25 and Sat 26 off → Mon 28 is the first working day after Wed 23.
    (datetime(2026, 12, 23, 10, 0, tzinfo=UTC), 1, datetime(2026, 12, 28, 14, 0, tzinfo=UTC)),
    # An ordinary Monday morning: Tue, Wed.
    (datetime(2026, 11, 30, 7, 0, tzinfo=UTC), 2, datetime(2026, 12, 2, 14, 0, tzinfo=UTC)),
    # Sent on a Saturday: Monday and Tuesday.
    (datetime(2026, 12, 12, 10, 0, tzinfo=UTC), 2, datetime(2026, 12, 15, 14, 0, tzinfo=UTC)),
    # Friday 23:30 in Helsinki is still Friday there: Monday is the first working day after it.
    (datetime(2026, 12, 11, 21, 30, tzinfo=UTC), 1, datetime(2026, 12, 14, 14, 0, tzinfo=UTC)),
])
def test_the_reply_is_due_on_the_promised_working_day(sent, days, due):
    assert promise.reply_by(sent, days, ZONE) == due


def test_finnish_public_holidays_are_not_working_days():
    for holiday in (date(2027, 1, 1), date(2027, 1, 6), date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 6),
                    date(2027, 6, 25), date(2027, 12, 6), date(2027, 12, 24)):
        assert not promise.is_working_day(holiday), holiday
    assert promise.is_working_day(date(2027, 12, 7)) and not promise.is_working_day(date(2027, 12, 4))


def unanswered(web) -> str:
    """The inbox's section of messages waiting for a reply."""
    page = text(web.get("/work"))
    assert "Vastaamattomat viestit" in page, page[-3000:]
    begins = page.index("Vastaamattomat viestit")
    return page[begins:page.index("<h2>", begins)]


def started(api) -> int:
    return api.start("esitieto", client_id="asiakas-123")["id"]


def test_a_friday_message_before_a_holiday_is_due_on_wednesday_and_a_late_reply_shows_late(
        sample, api, web_as, ctx, clock):
    instance_id = started(api)
    aino, hanna = web_as("asiakas-123"), web_as("hoitaja.virtanen")
    page = text(aino.get(f"/me/pathways/{instance_id}/messages"))
    assert "2 arkipäivän kuluessa" in page and "112" in page
    sent = aino.post(f"/me/pathways/{instance_id}/messages", {"body": "Voinko ottaa lääkkeen ennen verikoetta?"})
    assert sent.status_code == 302
    message = db.session.scalars(select(Message)).one()
    assert (message.sender, message.team, message.author) == ("client", "Hoitaja", "asiakas-123")
    assert message.reply_by == datetime(2027, 12, 8, 14, 0, tzinfo=UTC)
    note = db.session.scalars(select(Notification).where(Notification.kind == "message")).one()
    assert (note.audience, note.recipient) == ("professional", "Hoitaja")
    # A notification may go out by email or SMS: it tells of the message, never what it says.
    assert note.text == "Uusi viesti asiakkaalta polulla Esitiedot ennen vastaanottoa."

    waiting = unanswered(hanna)
    assert "Voinko ottaa lääkkeen ennen verikoetta?" in waiting and "8.12.2027 16.00" in waiting
    assert "tag--late" not in waiting
    clock.set(datetime(2027, 12, 8, 14, 1, tzinfo=UTC))  # Wednesday 16:01: past the promise
    aino, hanna = web_as("asiakas-123"), web_as("hoitaja.virtanen")  # signed in again after the days passed
    assert "tag--late" in unanswered(hanna)

    replied = hanna.post(f"/work/pathways/{instance_id}/messages", {"body": "Voit ottaa lääkkeen normaalisti."})
    assert replied.status_code == 302
    db.session.refresh(message)
    assert message.replied_at == datetime(2027, 12, 8, 14, 1, tzinfo=UTC)
    assert message.replied_at - message.sent_at > (message.reply_by - message.sent_at)  # its response time, late
    thread = text(aino.get(f"/me/pathways/{instance_id}/messages"))
    assert "Vastattu myöhässä" in thread and "Voit ottaa lääkkeen normaalisti." in thread
    assert "Vastaamattomat viestit (0)" in text(hanna.get("/work"))
    to_client = db.session.scalars(select(Notification).where(Notification.audience == "client",
                                                              Notification.kind == "message")).one()
    assert to_client.recipient == "asiakas-123" and to_client.read_at is not None  # she opened the thread


def test_a_reply_in_time_is_not_late_and_new_messages_show_as_notifications(sample, api, web_as, clock):
    instance_id = started(api)
    aino, hanna = web_as("asiakas-123"), web_as("hoitaja.virtanen")
    hanna.post(f"/work/pathways/{instance_id}/messages", {"body": "Muistathan laboratoriokäynnin."})
    mine = text(aino.get("/me"))
    assert "Uutta sinulle" in mine and "Uusi viesti hoitotiimiltä polulla Esitiedot ennen vastaanottoa." in mine
    aino.post(f"/me/pathways/{instance_id}/messages", {"body": "Kiitos, muistan."})
    clock.set(datetime(2027, 12, 7, 8, 0, tzinfo=UTC))
    aino, hanna = web_as("asiakas-123"), web_as("hoitaja.virtanen")
    hanna.post(f"/work/pathways/{instance_id}/messages", {"body": "Hyvä!"})
    thread = text(aino.get(f"/me/pathways/{instance_id}/messages"))
    assert "Vastattu" in thread and "Vastattu myöhässä" not in thread
    assert "Uutta sinulle" not in text(aino.get("/me"))  # read by opening the thread


def test_an_empty_message_is_refused_and_another_team_cannot_read_or_write(sample, api, web_as, ctx, clock):
    instance_id = started(api)
    aino, lauri = web_as("asiakas-123"), web_as("laakari.korhonen")
    empty = aino.post(f"/me/pathways/{instance_id}/messages", {"body": "   "})
    assert empty.status_code == 422 and 'aria-invalid="true"' in text(empty)
    assert lauri.get(f"/work/pathways/{instance_id}/messages").status_code == 404
    assert lauri.post(f"/work/pathways/{instance_id}/messages", {"body": "hei"}).status_code == 404
    assert db.session.scalars(select(Message)).all() == []


def test_an_ended_pathway_keeps_its_messages_readable_but_takes_no_more(sample, api, web_as, clock):
    instance_id = started(api)
    aino = web_as("asiakas-123")
    aino.post(f"/me/pathways/{instance_id}/messages", {"body": "Kysymys"})
    aino.post(f"/me/pathways/{instance_id}/withdraw", {})
    page = aino.get(f"/me/pathways/{instance_id}/messages")
    assert page.status_code == 200 and "Kysymys" in text(page) and 'name="body"' not in text(page)
    assert aino.post(f"/me/pathways/{instance_id}/messages", {"body": "Vielä"}).status_code == 409


def test_of_the_teams_that_follow_a_pathway_only_its_message_team_answers(api, web_as, ctx, clock):
    both = ('<spiffworkflow:property name="formJsonSchemaFilename" value="tulosten-arvio.json" />',
            '<spiffworkflow:property name="formJsonSchemaFilename" value="tulosten-arvio.json" />'
            '<spiffworkflow:property name="candidateGroups" value="Hoitaja, Lääkäri" />')
    deploy.deploy([package(replace=both, consent=False)], "tester")
    instance_id = api.start("asetukset", client_id="asiakas-123")["id"]
    aino, lauri = web_as("asiakas-123"), web_as("laakari.korhonen")
    aino.post(f"/me/pathways/{instance_id}/messages", {"body": "Kysymys hoitajalle"})
    page = lauri.get(f"/work/pathways/{instance_id}/messages")  # the doctors follow it: they may read
    assert page.status_code == 200 and "Kysymys hoitajalle" in text(page) and 'name="body"' not in text(page)
    refused = lauri.post(f"/work/pathways/{instance_id}/messages", {"body": "Vastaan minä"})
    assert refused.status_code == 403 and "Hoitaja" in text(refused)
    message = db.session.scalars(select(Message)).one()
    assert message.replied_at is None and message.read_at is None  # still waiting in the nurses' inbox
    assert "Kysymys hoitajalle" in unanswered(web_as("hoitaja.virtanen"))


def test_a_message_team_that_follows_no_task_of_the_pathway_is_named_at_deploy(ctx):
    wrong = ('<spiffworkflow:property name="messageTeam" value="Hoitaja" />',
             '<spiffworkflow:property name="messageTeam" value="Hoitajat" />')
    with pytest.raises(PackageInvalid) as refused:
        deploy.deploy([package(replace=wrong)], "tester")
    assert [p.reason for p in refused.value.problems] == [
        "messageTeam 'Hoitajat' is not a team that follows the pathway (its professional lanes and candidate "
        "groups: Hoitaja)"]
