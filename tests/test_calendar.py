"""Calendar time in the pathway's zone: durations, clock times and plan days across both summer-time changes,
month ends and leap days, as pure arithmetic and as the timers of running pathways."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from orchestrator.clock import CLOCK
from orchestrator.core import firing
from orchestrator.engine import calendar
from orchestrator.extensions import db
from orchestrator.models import Event, HumanTask, Instance, Timer

from .fixtures import timer_shapes as shapes
from .fixtures.builders import HEAD, TAIL
from .helpers import deploy_bpmn

HELSINKI = ZoneInfo("Europe/Helsinki")


def local(text: str) -> datetime:
    """A Helsinki wall-clock time such as "2026-03-29 07:00" (the first one, should it occur twice)."""
    return datetime.fromisoformat(text).replace(tzinfo=HELSINKI)


def shown(at: datetime) -> str:
    """An instant as the Helsinki clock shows it, with its offset."""
    return at.astimezone(HELSINKI).strftime("%Y-%m-%d %H:%M %z")


@pytest.mark.parametrize(("start", "duration", "expected"), [
    # a week, a day, a fortnight keep the wall-clock time across summer time, both ways
    ("2026-03-23 10:00", "P1W", "2026-03-30 10:00 +0300"),
    ("2026-03-28 10:00", "P1D", "2026-03-29 10:00 +0300"),
    ("2026-10-19 10:00", "P1W", "2026-10-26 10:00 +0200"),
    ("2026-10-24 19:00", "P1D", "2026-10-25 19:00 +0200"),
    ("2026-03-16 07:00", "P2W", "2026-03-30 07:00 +0300"),
    ("2026-01-05 09:00", "P12W", "2026-03-30 09:00 +0300"),
    # hours pass as real time: the night the clocks turn is an hour shorter, or longer
    ("2026-03-28 10:00", "PT24H", "2026-03-29 11:00 +0300"),
    ("2026-10-24 20:00", "PT12H", "2026-10-25 07:00 +0200"),
    ("2026-03-28 22:00", "P1DT2H", "2026-03-30 00:00 +0300"),
    ("2026-03-28 08:00", "P1.5D", "2026-03-29 20:00 +0300"),  # a day on the clock, then 12 hours
    # a wall-clock time that does not exist is taken the gap later; one shown twice is the first
    ("2026-03-28 03:30", "P1D", "2026-03-29 04:30 +0300"),
    ("2026-10-24 03:30", "P1D", "2026-10-25 03:30 +0300"),
    # month ends: the last day of a shorter month; leap years
    ("2026-01-31 09:00", "P1M", "2026-02-28 09:00 +0200"),
    ("2028-01-31 09:00", "P1M", "2028-02-29 09:00 +0200"),
    ("2026-03-31 09:00", "P1M", "2026-04-30 09:00 +0300"),
    ("2026-08-31 09:00", "P6M", "2027-02-28 09:00 +0200"),
    ("2026-01-09 09:30", "P3M", "2026-04-09 09:30 +0300"),
    ("2028-02-29 12:00", "P1Y", "2029-02-28 12:00 +0200"),
    ("2028-02-29 12:00", "P4Y", "2032-02-29 12:00 +0200"),
    ("2027-02-28 12:00", "P1D", "2027-03-01 12:00 +0200"),
    ("2028-02-28 12:00", "P1D", "2028-02-29 12:00 +0200"),
    ("2026-12-31 23:30", "PT1H", "2027-01-01 00:30 +0200"),
    ("2026-12-31 09:00", "P1D", "2027-01-01 09:00 +0200"),
])
def test_durations_are_added_in_calendar_time(start, duration, expected):
    assert shown(calendar.add(local(start), duration, HELSINKI)) == expected


@pytest.mark.parametrize(("now", "times", "on", "expected"), [
    ("2026-12-06 15:41", ["07:00", "19:00"], None, "2026-12-06 19:00 +0200"),
    ("2026-12-06 19:00", ["07:00", "19:00"], None, "2026-12-07 07:00 +0200"),  # strictly after now
    ("2026-03-28 20:00", ["07:00"], None, "2026-03-29 07:00 +0300"),
    ("2026-10-24 20:00", ["07:00"], None, "2026-10-25 07:00 +0200"),
    ("2026-03-28 20:00", ["03:30"], None, "2026-03-29 04:30 +0300"),  # no 03:30 that night
    ("2026-12-06 15:41", ["10:00"], "mon", "2026-12-07 10:00 +0200"),
    ("2026-12-07 10:00", ["10:00"], "ma", "2026-12-14 10:00 +0200"),
    ("2026-03-24 12:00", ["10:00"], "mon,thu", "2026-03-26 10:00 +0200"),
    ("2026-03-27 12:00", ["10:00"], ["maanantai"], "2026-03-30 10:00 +0300"),
])
def test_next_clock_time(now, times, on, expected):
    assert shown(calendar.next_at(local(now), HELSINKI, times, on)) == expected


@pytest.mark.parametrize(("now", "after", "expected"), [
    ("2026-01-09 23:10", "P3M", "2026-04-10 09:00 +0300"),  # answered late at night: the morning after, in spring
    ("2026-01-09 08:10", "P3M", "2026-04-09 09:00 +0300"),
    ("2026-03-27 10:00", "P2D", "2026-03-30 09:00 +0300"),
    ("2026-01-05 09:00", "P3M", "2026-04-05 09:00 +0300"),  # that moment itself counts
])
def test_next_clock_time_once_a_duration_has_passed(now, after, expected):
    assert shown(calendar.next_at(local(now), HELSINKI, ["09:00"], after=after)) == expected


@pytest.mark.parametrize(("day", "at", "expected"), [
    (0, "18:00", "2026-03-23 18:00 +0200"),
    (1, "07:00", "2026-03-24 07:00 +0200"),
    (6, "07:00", "2026-03-29 07:00 +0300"),  # the day summer time begins
    (7, "22:00", "2026-03-30 22:00 +0300"),
    ("P1W", "07:00", "2026-03-30 07:00 +0300"),
    ("P1M", "09:00", "2026-04-23 09:00 +0300"),
])
def test_plan_days_count_from_the_day_the_pathway_started(day, at, expected):
    assert shown(calendar.plan_at(local("2026-03-23 15:41"), HELSINKI, day, at)) == expected


@pytest.mark.parametrize(("call", "named"), [
    (lambda: calendar.add(local("2026-01-01 09:00"), "1 week", HELSINKI), "'1 week'"),
    (lambda: calendar.next_at(local("2026-01-01 09:00"), HELSINKI, ["25:00"]), "'25:00'"),
    (lambda: calendar.next_at(local("2026-01-01 09:00"), HELSINKI, ["07:00"], "someday"), "'someday'"),
    (lambda: calendar.plan_at(local("2026-01-01 09:00"), HELSINKI, "PT3H", "07:00"), "'PT3H'"),
    (lambda: calendar.plan_at(local("2026-01-01 09:00"), HELSINKI, 1.5, "07:00"), "1.5"),
])
def test_what_cannot_be_read_is_named(call, named):
    with pytest.raises(calendar.CalendarError, match=named):
        call()


# --------------------------------------------------------------------------- the same in running pathways

MONDAY = datetime(2026, 3, 23, 8, 0, tzinfo=UTC)  # Monday 10:00 in Helsinki, six days before summer time


def timer_process(pid: str, kind: str, expression: str, task_props: str = "", process_props: str = "") -> str:
    """start → timer (an expression, as written) → user task "jatko" → end."""
    task_ext = f"<bpmn:extensionElements><spiffworkflow:properties>{task_props}</spiffworkflow:properties>" \
               "</bpmn:extensionElements>" if task_props else ""
    ext = f"<bpmn:extensionElements><spiffworkflow:properties>{process_props}</spiffworkflow:properties>" \
          "</bpmn:extensionElements>" if process_props else ""
    return HEAD + f"""<bpmn:process id="{pid}" name="{pid}" isExecutable="true">{ext}
  <bpmn:startEvent id="alku"/>
  <bpmn:intermediateCatchEvent id="ajastin"><bpmn:timerEventDefinition>
    <bpmn:{kind} xsi:type="bpmn:tFormalExpression">{expression}</bpmn:{kind}>
  </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
  <bpmn:userTask id="jatko" name="Jatko">{task_ext}</bpmn:userTask>
  <bpmn:endEvent id="loppu"/>
  <bpmn:sequenceFlow id="f1" sourceRef="alku" targetRef="ajastin"/>
  <bpmn:sequenceFlow id="f2" sourceRef="ajastin" targetRef="jatko"/>
  <bpmn:sequenceFlow id="f3" sourceRef="jatko" targetRef="loppu"/>
</bpmn:process>""" + TAIL


def started(api, key: str, bpmn: str) -> int:
    deploy_bpmn(key, bpmn)
    return api.start(key)["id"]


def due_times(instance_id: int) -> list[str]:
    db.session.expire_all()
    return [shown(t.due_at.replace(tzinfo=UTC)) for t in db.session.scalars(
        select(Timer).where(Timer.instance_id == instance_id))]


def fired_at(instance_id: int) -> list[str]:
    db.session.rollback()
    events = db.session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.id))
    return [shown(e.at.replace(tzinfo=UTC)) for e in events for _ in (e.data or {}).get("timers", [])]


@pytest.mark.clock(MONDAY)
def test_a_weekly_duration_timer_keeps_its_hour_across_summer_time(api, clock, ctx):
    instance = started(api, "viikko", shapes.intermediate("timeDuration", "P1W", pid="viikko"))
    assert due_times(instance) == ["2026-03-30 10:00 +0300"]


@pytest.mark.clock(MONDAY)
def test_a_daily_cycle_from_a_local_start_fires_at_07_every_day(api, clock, ctx):
    instance = started(api, "aamut", shapes.reminder_cycle("R5/2026-03-27T07:00:00/P1D", pid="aamut"))
    for day in range(27, 32):
        CLOCK.set(local(f"2026-03-{day} 07:00").astimezone(UTC) + timedelta(seconds=1))
        assert firing.fire_due() == 1
    assert fired_at(instance) == ["2026-03-27 07:00 +0200", "2026-03-28 07:00 +0200", "2026-03-29 07:00 +0300",
                                  "2026-03-30 07:00 +0300", "2026-03-31 07:00 +0300"]


@pytest.mark.clock(MONDAY)
@pytest.mark.parametrize(("expression", "expected"), [
    ('next_at("07:00", "19:00")', "2026-03-23 19:00 +0200"),
    ('next_at("10:00", on="mon")', "2026-03-30 10:00 +0300"),
    ('plan_at(6, "07:00")', "2026-03-29 07:00 +0300"),
    ('plan_at("P2W", "09:30")', "2026-04-06 09:30 +0300"),
])
def test_timer_expressions_name_clock_times_and_plan_days(api, clock, ctx, expression, expected):
    instance = started(api, "kello", timer_process("kello", "timeDate", expression.replace('"', "&quot;")))
    assert due_times(instance) == [expected]


@pytest.mark.clock(MONDAY)
def test_a_timer_expression_that_cannot_be_read_is_an_incident_naming_it(api, clock, ctx):
    expression = 'next_at("kello " + "7")'  # not a literal: read only when the timer is set
    instance = started(api, "vaara", timer_process("vaara", "timeDate", expression.replace('"', "&quot;")))
    db.session.expire_all()
    row = db.session.get(Instance, instance)
    assert row.incident and "'kello 7' is not a time of day" in row.incident


@pytest.mark.clock(MONDAY)
def test_due_dates_and_the_pathway_end_are_counted_in_calendar_time(api, clock, ctx):
    bpmn = timer_process("eraantyy", "timeDuration", "&quot;PT1M&quot;",
                         task_props='<spiffworkflow:property name="dueIn" value="P1W"/>',
                         process_props='<spiffworkflow:property name="duration" value="P2W"/>')
    instance = started(api, "eraantyy", bpmn)
    CLOCK.set(MONDAY + timedelta(minutes=2))
    assert firing.fire_due() == 1
    db.session.expire_all()
    task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance))
    assert shown(task.due_at.replace(tzinfo=UTC)) == "2026-03-30 10:02 +0300"
    assert shown(db.session.get(Instance, instance).ends_at.replace(tzinfo=UTC)) == "2026-04-06 10:00 +0300"


@pytest.mark.parametrize(("kind", "expression", "reason"), [
    ("timeDate", 'next_at("25:00")', "next_at: '25:00' is not a time of day"),
    ("timeDate", 'next_at("10:00", on="someday")', "'someday' is not a weekday"),
    ("timeDate", 'next_at("10:00", after="3 months")', "'3 months' is not an ISO-8601 duration"),
    ("timeDate", 'next_at("10:00", at="mon")', "not at="),
    ("timeDate", 'plan_at(1)', "plan_at takes a day of the plan and a time of day"),
    ("timeDate", 'plan_at("PT1H", "07:00")', "'PT1H' has a time part"),
    ("timeDuration", 'plan_at(7, "07:00")', "gives a date-time: use it in a timeDate timer"),
])
def test_deploy_reads_calendar_helpers_with_literal_arguments(ctx, kind, expression, reason):
    from orchestrator.engine import PackageInvalid
    with pytest.raises(PackageInvalid) as refused:
        deploy_bpmn("huono", timer_process("huono", kind, expression.replace('"', "&quot;")))
    assert reason in str(refused.value) and "ajastin" in str(refused.value)


def test_the_second_03_30_of_an_autumn_night_moves_on_by_the_hours_added():
    """On the night the clocks go back, 03:30 comes twice; hours added to the second one count from it, so an
    hourly or quarter-hourly series keeps moving forward."""
    second = datetime(2025, 10, 26, 1, 30, tzinfo=UTC)  # 03:30+02:00, after the clocks went back
    assert calendar.add(second, "PT0S", HELSINKI) == second
    assert calendar.add(second, "PT1H", HELSINKI) - second == timedelta(hours=1)
    at, seen = datetime(2025, 10, 25, 23, 0, tzinfo=UTC), []
    for _ in range(12):
        at = calendar.add(at, "PT15M", HELSINKI)
        seen.append(at)
    assert [b - a for a, b in zip(seen, seen[1:], strict=False)] == [timedelta(minutes=15)] * 11
    assert calendar.add(second, "P1D", HELSINKI) == local("2025-10-27 03:30").astimezone(UTC)  # a day: the wall clock


@pytest.mark.parametrize("duration", ["P1.5DT2H", "P0.5MT1H", "PT1.5H30M", "P1W2D", "P9999Y", "", "1DP", "P"])
def test_a_duration_the_engine_would_misread_is_refused(duration):
    with pytest.raises(calendar.CalendarError):
        calendar.add(local("2026-01-05 09:00"), duration, HELSINKI)


@pytest.mark.parametrize("duration", ["P1.5D", "PT1.5H", "P2W", "P1DT12H", "P3M", "P0D", "P1Y2M3DT4H5M6S"])
def test_durations_the_engine_reads_whole_are_taken(duration):
    assert calendar.add(local("2026-01-05 09:00"), duration, HELSINKI) >= local("2026-01-05 09:00")


def test_two_clock_times_on_a_spring_night_come_in_order():
    # 03:30 does not exist on 29 March 2026 in Helsinki (it is 04:30); 04:15 comes first
    assert shown(calendar.next_at(local("2026-03-29 02:50"), HELSINKI, ["03:30", "04:15"])) == "2026-03-29 04:15 +0300"


@pytest.mark.parametrize("word", ["today", "tomorrow", "lapsi", "m"])
def test_only_weekday_names_are_weekdays(word):
    with pytest.raises(calendar.CalendarError, match=word):
        calendar.weekdays(word)


@pytest.mark.parametrize(("where", "value", "reason"), [
    ("dueIn", "P1W2D", "is not an ISO-8601 duration"),
    ("dueIn", "P9999Y", "longer than a pathway can wait"),
    ("timer", "P1.5DT2H", "a decimal only in its last part"),
])
def test_deploy_refuses_durations_the_engine_would_misread(ctx, where, value, reason):
    from orchestrator.engine import PackageInvalid
    if where == "dueIn":
        bpmn = timer_process("kesto", "timeDuration", "&quot;PT1M&quot;",
                             task_props=f'<spiffworkflow:property name="dueIn" value="{value}"/>')
    else:
        bpmn = timer_process("kesto", "timeDuration", f"&quot;{value}&quot;")
    with pytest.raises(PackageInvalid) as refused:
        deploy_bpmn("kesto", bpmn)
    assert reason in str(refused.value)


@pytest.mark.parametrize("expression", ['plan_at(1000000000000, "07:00")', 'next_at("07:00", after="P9999Y")',
                                        'plan_at("P99999999999D", "07:00")'])
def test_deploy_refuses_calendar_helpers_beyond_the_calendar(ctx, expression):
    from orchestrator.engine import PackageInvalid
    with pytest.raises(PackageInvalid):
        deploy_bpmn("kaukana", timer_process("kaukana", "timeDate", expression.replace('"', "&quot;")))
