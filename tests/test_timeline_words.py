"""A timeline in words, and adherence made visible: the pathway page says what comes next and when, in the
pathway's zone and the reader's language; an ended pathway marks no phase as going on; a missed task stays on
the timeline, marked as missed; a series of readings shows how many were done and missed, to the client and to
the care team."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from orchestrator.clock import CLOCK
from orchestrator.core import firing, steps
from orchestrator.extensions import db
from orchestrator.models import HumanTask
from orchestrator.web import timeline
from orchestrator.web.filters import moment

from .fixtures.builders import HEAD, TAIL
from .helpers import deploy_bpmn

START = datetime(2027, 1, 12, 20, 0, tzinfo=UTC)  # Tuesday 12 January 2027, 22:00 in Helsinki
pytestmark = pytest.mark.clock(START)
CLIENT = "asiakas-123"


def _timer(element: str, duration: str, *, name: str = "", documentation: str = "", boundary: str = "") -> str:
    """A timer event waiting ``duration``, ending in an end event of its own."""
    named = f' name="{name}"' if name else ""
    docs = f"<bpmn:documentation>{documentation}</bpmn:documentation>" if documentation else ""
    definition = (f'<bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"{duration}"'
                  "</bpmn:timeDuration></bpmn:timerEventDefinition>")
    end = f'<bpmn:endEvent id="{element}_loppu"/>' \
          f'<bpmn:sequenceFlow id="f_{element}_loppu" sourceRef="{element}" targetRef="{element}_loppu"/>'
    if boundary:
        return f"<bpmn:boundaryEvent id=\"{element}\"{named} {boundary}>{docs}{definition}</bpmn:boundaryEvent>{end}"
    return (f'<bpmn:intermediateCatchEvent id="{element}"{named}>{docs}{definition}</bpmn:intermediateCatchEvent>'
            f'<bpmn:sequenceFlow id="f_jako_{element}" sourceRef="jako" targetRef="{element}"/>{end}')


def pathway(zone: str | None = None) -> str:
    """Home readings: the client measures (planned 14 times, due in 11 hours, reminded after 2, missed after 11)
    while the pathway waits on an evening reading, a night reading, a weekly weighing on two branches and a timer
    that has no name; the nurse reviews the reading. Three weeks long, in two phases."""
    zone_property = f'<spiffworkflow:property name="timeZone" value="{zone}"/>' if zone else ""
    return HEAD + f"""<bpmn:process id="kotimittaus" name="Kotimittaukset" isExecutable="true">
  <bpmn:extensionElements><spiffworkflow:properties>
    <spiffworkflow:property name="duration" value="P3W"/>
    <spiffworkflow:property name="phases" value="P0D Mittaukset; P1W Punnitus"/>{zone_property}
  </spiffworkflow:properties></bpmn:extensionElements>
  <bpmn:laneSet>
    <bpmn:lane id="asiakas" name="Asiakas"><bpmn:flowNodeRef>alku</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>mittaus</bpmn:flowNodeRef></bpmn:lane>
    <bpmn:lane id="hoitaja" name="Hoitaja"><bpmn:flowNodeRef>arvio</bpmn:flowNodeRef></bpmn:lane>
  </bpmn:laneSet>
  <bpmn:startEvent id="alku"/>
  <bpmn:parallelGateway id="jako"/>
  <bpmn:sequenceFlow id="f_alku" sourceRef="alku" targetRef="jako"/>
  <bpmn:userTask id="mittaus" name="Mittaa verenpaine">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="dueIn" value="PT11H"/>
      <spiffworkflow:property name="planned" value="14"/>
    </spiffworkflow:properties></bpmn:extensionElements>
  </bpmn:userTask>
  <bpmn:sequenceFlow id="f_jako_mittaus" sourceRef="jako" targetRef="mittaus"/>
  {_timer("muistutus", "PT2H", name="Muistutus", boundary='attachedToRef="mittaus" cancelActivity="false"')}
  {_timer("umpeutui", "PT11H", name="Mittausaika päättyi", boundary='attachedToRef="mittaus"')}
  <bpmn:userTask id="arvio" name="Arvioi mittaus"/>
  <bpmn:endEvent id="loppu"/>
  <bpmn:sequenceFlow id="f_mittaus_arvio" sourceRef="mittaus" targetRef="arvio"/>
  <bpmn:sequenceFlow id="f_arvio_loppu" sourceRef="arvio" targetRef="loppu"/>
  {_timer("ilta", "PT30M", name="Puolen tunnin kuluttua", documentation="Iltamittaus")}
  {_timer("yo", "PT2H30M", name="Yömittaus")}
  {_timer("viikko_a", "P1W", name="Viikon kuluttua", documentation="Viikon punnitus")}
  {_timer("viikko_b", "P1W", name="Viikon kuluttua", documentation="Viikon punnitus")}
  {_timer("nimeton", "PT1H")}
</bpmn:process>
""" + TAIL


def start(api, zone: str | None = None) -> int:
    deploy_bpmn("kotimittaus", pathway(zone))
    return api.start("kotimittaus", business_key=f"{CLIENT}:kotimittaus", client_id=CLIENT)["id"]


def words(response) -> str:
    """A page's text as a reader sees it: no tags, single spaces."""
    assert response.status_code == 200
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def section(page: str, heading: str, following: str) -> str:
    """The text between two headings of a page."""
    return page.split(f" {heading} ", 1)[1].split(f" {following} ", 1)[0]


def in_language(web, lang: str, url: str) -> str:
    web.get(f"/lang/{lang}?next=/")
    return words(web.get(url))


# --------------------------------------------------------------------------- upcoming, in words


def test_coming_next_says_what_happens_and_when_in_the_pathways_zone_and_the_readers_language(api, clock, ctx,
                                                                                               web_as):
    instance_id = start(api)
    aino = web_as(CLIENT)

    coming = section(in_language(aino, "en", f"/me/pathways/{instance_id}"), "Coming next", "Withdraw my consent")
    assert coming.split(" The pathway ends ")[0].strip() == (
        "Iltamittaus today at 22:30 "  # 22:30 in Helsinki, the same day
        "Yömittaus tomorrow at 00:30 "  # 00:30 in Helsinki: tomorrow there, though 22:30 today in UTC
        "Viikon punnitus Tue 19 Jan at 22:00")  # two branches, one line
    assert "The pathway ends Tue 2 Feb at 22:00" in coming
    for meaningless in ("nimeton", "Muistutus", "Mittausaika päättyi", "Viikon kuluttua"):
        assert meaningless not in coming  # no name; about the open task, which tells its own due time
    assert "Mittaa verenpaine – due by tomorrow at 09:00" in in_language(aino, "en", f"/me/pathways/{instance_id}")

    finnish = in_language(aino, "fi", f"/me/pathways/{instance_id}")
    assert re.search(r"Iltamittaus \S+ \S+ 22\.30 ", finnish)  # "tänään klo 22.30" once translated
    assert re.search(r"Yömittaus \S+ \S+ 0\.30 ", finnish)
    assert re.search(r"Viikon punnitus ti 19\.1\. \S+ 22\.00 ", finnish)
    assert finnish.count("Viikon punnitus") == 1


def test_the_pathways_own_zone_decides_what_today_is(api, clock, ctx, web_as):
    instance_id = start(api, zone="UTC")
    page = in_language(web_as(CLIENT), "en", f"/me/pathways/{instance_id}")
    assert "Yömittaus today at 22:30" in page and "Iltamittaus today at 20:30" in page


@pytest.mark.parametrize(("lang", "at", "said"), [
    ("en", datetime(2027, 1, 12, 21, 59, tzinfo=UTC), "today at 23:59"),
    ("en", datetime(2027, 1, 12, 22, 0, tzinfo=UTC), "tomorrow at 00:00"),  # midnight in Helsinki
    ("en", datetime(2027, 1, 11, 5, 0, tzinfo=UTC), "yesterday at 07:00"),
    ("sv", datetime(2027, 1, 12, 22, 0, tzinfo=UTC), "i morgon kl. 00:00"),  # midnight, the Swedish clock
    ("fi", datetime(2027, 1, 15, 17, 0, tzinfo=UTC), "pe 15.1. klo 19.00"),
    ("fi", datetime(2028, 1, 4, 5, 0, tzinfo=UTC), "ti 4.1.2028 klo 7.00"),  # another year: its year too
    ("sv", datetime(2027, 1, 20, 17, 0, tzinfo=UTC), "ons 20 jan. kl. 19:00"),
    ("fi", datetime(2027, 1, 12, 17, 0, tzinfo=UTC), "tänään klo 19.00"),
])
def test_a_moment_is_said_in_words_on_the_zones_clock(app, clock, lang, at, said):
    with app.test_request_context(), force_locale(lang):
        assert re.sub(r"\s", " ", moment(at, "Europe/Helsinki")) == said  # English keeps "PM" to its time (U+202F)
        assert moment(None, "Europe/Helsinki") == ""


# --------------------------------------------------------------------------- phases


def test_an_ended_pathway_marks_no_phase_as_going_on(api, clock, ctx, web_as):
    instance_id = start(api)
    CLOCK.set(START + timedelta(days=8))
    aino = web_as(CLIENT)
    going = aino.get(f"/me/pathways/{instance_id}").get_data(as_text=True)
    assert re.search(r'aria-current="step" class="phase--current"><span>Punnitus', going)
    steps.cancel(instance_id, CLIENT, "ended by the client")
    ended = aino.get(f"/me/pathways/{instance_id}").get_data(as_text=True)
    assert "Mittaukset" in ended and "Punnitus" in ended
    assert 'aria-current="step"' not in ended and "phase--current" not in ended
    nurse = web_as("hoitaja.virtanen").get(f"/work/pathways/{instance_id}").get_data(as_text=True)
    assert "Punnitus" in nurse and "phase--current" not in nurse


# --------------------------------------------------------------------------- missed


def test_a_missed_task_stays_on_the_timeline_marked_missed_for_the_client_and_the_team(api, clock, ctx, web_as):
    instance_id = start(api)
    CLOCK.set(START + timedelta(hours=11, seconds=1))  # the reading's time ran out at 09:00 in Helsinki
    firing.fire_due()
    db.session.rollback()
    [task] = db.session.scalars(select(HumanTask).where(HumanTask.spec == "mittaus"))
    assert task.state == "missed"

    client = in_language(web_as(CLIENT), "en", f"/me/pathways/{instance_id}")
    past = section(client, "Done and missed", "Open now")
    assert "Mittaa verenpaine Missed – it was due today at 09:00" in past
    nurse = in_language(web_as("hoitaja.virtanen"), "en", f"/work/pathways/{instance_id}")
    assert "Mittaa verenpaine Missed – it was due today at 09:00" in section(nurse, "Done and missed", "Open now")


def test_a_task_closed_because_the_pathway_ended_is_not_called_missed(api, clock, ctx, web_as):
    instance_id = start(api)
    steps.cancel(instance_id, CLIENT, "ended by the client")
    page = in_language(web_as(CLIENT), "en", f"/me/pathways/{instance_id}")
    assert "Missed" not in page and "Done and missed" not in page and "Nothing done yet." in page


# --------------------------------------------------------------------------- adherence


def _readings(instance_id: int, states: list[str]) -> None:
    """Earlier readings of the series, as the rows their steps would have left."""
    version_id = db.session.scalar(select(HumanTask.version_id).where(HumanTask.instance_id == instance_id))
    for i, state in enumerate(states):
        at = START - timedelta(hours=12 * (len(states) - i))
        db.session.add(HumanTask(id=str(uuid.uuid4()), instance_id=instance_id, version_id=version_id,
                                 pathway_key="kotimittaus", spec="mittaus", title="Mittaa verenpaine", role="Asiakas",
                                 audience="client", state=state, created_at=at, due_at=at + timedelta(hours=11),
                                 completed_at=at + timedelta(hours=1 if state == "completed" else 11)))
    db.session.commit()


def test_the_client_and_the_team_see_how_many_of_the_planned_readings_were_done_and_missed(api, clock, ctx, web_as):
    instance_id = start(api)
    _readings(instance_id, ["completed"] * 6 + ["missed"] * 3 + ["completed"] * 3 + ["cancelled"])

    for page in (in_language(web_as(CLIENT), "en", f"/me/pathways/{instance_id}"),
                 in_language(web_as("hoitaja.virtanen"), "en", f"/work/pathways/{instance_id}")):
        progress = section(page, "Progress", "Done and missed")
        assert "Mittaa verenpaine : 9/14 done 9 of 14 times done , 3 missed" in progress
        # The marks repeat the words by shape, not colour: 9 done, 3 missed, 2 still to come (the open one too).
        assert progress.count("●") == 9 and progress.count("✕") == 3 and progress.count("○") == 2
    html = web_as(CLIENT).get(f"/me/pathways/{instance_id}").get_data(as_text=True)
    assert '<span aria-hidden="true">9/14 tehty</span>' \
        '<span class="visually-hidden">tehty 9 kertaa 14:stä</span>' in html


def test_a_pathway_that_plans_nothing_shows_no_progress(api, clock, ctx, web_as):
    instance_id = start(api)
    version_id = db.session.scalar(select(HumanTask.version_id).where(HumanTask.instance_id == instance_id))
    from orchestrator.core.store import store
    from orchestrator.web import adherence

    meta = store().info(version_id).task_meta
    assert meta["mittaus"]["planned"] == "14"
    assert adherence.of([], {**meta, "mittaus": {**meta["mittaus"], "planned": None}}) == []
    assert adherence.of([], {"x": {"title": "X", "planned": "kaksi"}, "y": {"planned": "0"}}) == []
    [counted] = adherence.of([], meta)
    assert (counted.title, counted.planned, counted.done, counted.missed, counted.to_come) == (
        "Mittaa verenpaine", 14, 0, 0, 14)


@pytest.mark.parametrize(("offset", "begins"), [
    ("P0D", "2026-12-07 15:41"),  # the day it started: when it started
    ("P1D", "2026-12-08 00:00"),  # the plan's day 1, as its timers count it (not 24 hours on, at 15:41)
    ("P1W", "2026-12-14 00:00"),
    ("PT12H", "2026-12-08 03:41"),
])
def test_a_phase_of_whole_days_begins_with_that_day_of_the_plan(offset, begins):
    started = datetime(2026, 12, 7, 13, 41, tzinfo=UTC)  # 15:41 in Helsinki
    at = timeline.phase_start(started, offset, "Europe/Helsinki")
    assert at.astimezone(ZoneInfo("Europe/Helsinki")).strftime("%Y-%m-%d %H:%M") == begins
