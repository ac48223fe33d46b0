"""The organisation's metrics from a known history on a simulated clock, checked against values worked
out by hand, and the traffic lights at their boundaries."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from orchestrator import metrics
from orchestrator.care import content, enrolment, messaging
from orchestrator.clock import CLOCK
from orchestrator.core import firing, steps
from orchestrator.extensions import db
from orchestrator.metrics.report import Scope
from orchestrator.models import HumanTask, Instance, Score
from orchestrator.tools import deploy

from .conftest import ROOT
from .fixtures.metrics_pathway import BPMN, FORMS

START = datetime(2027, 1, 4, 7, 0, tzinfo=UTC)  # Monday 4 January 2027, 09:00 in Helsinki
Q1 = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC))
H = timedelta(hours=1)


@pytest.mark.parametrize(("attained", "colour"), [(84.9, "red"), (85, "yellow"), (99.9, "yellow"), (100, "green"),
                                                  (0, "red"), (250, "green"), (None, None)])
def test_traffic_lights_at_their_boundaries(attained, colour):
    assert metrics.light(attained) == colour


@pytest.mark.parametrize(("value", "target", "more_is_better", "attained"), [
    (84.9, 100, True, 84.9), (17, 20, True, 85.0), (48, 48, False, 100.0), (96, 48, False, 50.0),
    (0, 48, False, float("inf")), (5, None, True, None)])
def test_attainment_of_a_target(value, target, more_is_better, attained):
    assert metrics.attainment(value, target, more_is_better) == pytest.approx(attained) if attained else \
        metrics.attainment(value, target, more_is_better) is None


def at(moment: datetime) -> None:
    CLOCK.set(moment)
    firing.fire_due()
    db.session.rollback()


def task(instance_id: int, spec: str) -> HumanTask:
    db.session.rollback()
    return db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.spec == spec,
                                                      HumanTask.state == "open")).one()


def answer(instance_id: int, spec: str, data: dict, by: str) -> None:
    steps.complete(task(instance_id, spec).id, data, by)


@pytest.fixture
def history(app):
    """Four clients, A B C D, on the metrics pathway in the first quarter of 2027 (times in UTC):

    A: start questionnaire at once; the nurse reviews 24 h later; end questionnaire NPS 10, CES 6.
    B: start questionnaire on day 3, after the day-2 reminder; review 12 h later; NPS 8, CES 5.
    C: never answers (reminded on day 2) and withdraws consent on day 10.
    D: start questionnaire at once; review 6 h later; never answers the end questionnaire (still active).
    Messages: C on Friday 8 Jan 15:00 local, answered Mon 11 Jan 10:00 local (67 h, within the promise);
    D on Mon 11 Jan 10:00, answered Thu 14 Jan 08:00 (70 h, late: due Wed 13 Jan 16:00); D again on
    Thu 14 Jan 10:00, never answered (due Mon 18 Jan 16:00: broken). Content: A views a page 3 times, B twice.
    """
    files = {"mittari.bpmn": BPMN.encode(), **{n: json.dumps(f).encode() for n, f in FORMS.items()}}
    version = deploy.deploy([deploy.from_files(files, "mittari", ROOT / "forms")], "tester")[0].version
    CLOCK.set(START)
    try:
        ids = {c: enrolment.join(version, f"asiakas-{c}", f"asiakas-{c}", None).id for c in "ABCD"}
        answer(ids["A"], "alkukysely", {"oireet": 7}, "asiakas-A")
        answer(ids["D"], "alkukysely", {"oireet": 9}, "asiakas-D")
        at(START + 6 * H)
        answer(ids["D"], "arvio", {"arvio": "ok"}, "hoitaja.virtanen")
        at(START + 24 * H)
        answer(ids["A"], "arvio", {"arvio": "ok"}, "hoitaja.virtanen")
        at(START + 2 * 24 * H)
        answer(ids["A"], "loppukysely", {"oireet": 3, "suosittelu": 10, "helppous": 6}, "asiakas-A")
        at(START + 3 * 24 * H)  # the day-2 reminders to B and C have gone
        answer(ids["B"], "alkukysely", {"oireet": 8}, "asiakas-B")
        at(START + 3 * 24 * H + 12 * H)
        answer(ids["B"], "arvio", {"arvio": "ok"}, "hoitaja.virtanen")
        answer(ids["B"], "loppukysely", {"oireet": 5, "suosittelu": 8, "helppous": 5}, "asiakas-B")
        for moment, who, sender in ((datetime(2027, 1, 8, 13, 0, tzinfo=UTC), "C", "client"),
                                    (datetime(2027, 1, 11, 8, 0, tzinfo=UTC), "C", "professional"),
                                    (datetime(2027, 1, 11, 8, 0, tzinfo=UTC), "D", "client"),
                                    (datetime(2027, 1, 14, 6, 0, tzinfo=UTC), "D", "professional"),
                                    (datetime(2027, 1, 14, 7, 0, tzinfo=UTC), "C", "withdraws"),
                                    (datetime(2027, 1, 14, 8, 0, tzinfo=UTC), "D", "client")):
            at(moment)
            instance = db.session.get(Instance, ids[who])
            if sender == "withdraws":
                enrolment.withdraw(instance, f"asiakas-{who}")
            elif sender == "client":
                messaging.send(instance, "client", f"asiakas-{who}", who, "Kysymys")
            else:
                messaging.send(instance, "professional", "hoitaja.virtanen", "Hanna", "Vastaus", {"Hoitaja"})
        for who, times in (("A", 3), ("B", 2)):
            for _ in range(times):
                content.count_view(db.session.get(Instance, ids[who]), "ohje.md", "client")
        CLOCK.set(datetime(2027, 5, 1, tzinfo=UTC))
        yield version
    finally:
        CLOCK.release()


def test_every_metric_of_the_quarter_matches_the_hand_computed_value(history):
    found = metrics.report(Scope("mittari"), *Q1, history.settings["goals"]).metrics
    value = {key: m.value for key, m in found.items()}
    assert value["clients_started"] == 4
    assert value["clients_ended"] == 3 and value["clients_active"] == 1  # A and B completed, C withdrew; D goes on
    # Forms asked: A 2/2, B 2/2, C 0/1, D 1/2 → 5 of 7; answering regularly (≥ 80 %): A and B of four.
    assert value["response_rate"] == pytest.approx(100 * 5 / 7)
    assert value["answering_regularly"] == pytest.approx(50.0)
    assert (value["messages"], value["replies"]) == (3, 2)
    assert value["reply_median_hours"] == pytest.approx(68.5) and value["reply_p90_hours"] == pytest.approx(70.0)
    assert value["within_promise"] == pytest.approx(100 / 3)  # C's kept; D's first late, second passed unanswered
    assert value["nps"] == pytest.approx(50.0)  # promoters A (10), passive B (8): (1 − 0) / 2
    assert value["ces"] == pytest.approx(5.5)
    assert value["professional_tasks"] == 3 and value["handling_median_hours"] == pytest.approx(12.0)
    assert value["reminders_sent"] == 2 and value["answered_after_reminder"] == pytest.approx(50.0)  # B did
    assert value["content_views"] == 5
    # The PROM "oireet": A 7 → 3 and B 8 → 5 answered it twice (D once): first 7.5, last 4.0 on average.
    (scale, outcome), = metrics.report(Scope("mittari"), *Q1).proms.items()
    assert (scale, outcome.clients, outcome.first, outcome.last, outcome.change) == ("oireet", 2, 7.5, 4.0, -3.5)
    lights = {key: (round(m.attainment, 1), m.light) for key, m in found.items() if m.target}
    assert lights == {"within_promise": (83.3, "red"), "response_rate": (89.3, "yellow"), "nps": (100.0, "green"),
                      "reply_median_hours": (70.1, "red")}


def test_a_period_counts_only_what_happened_in_it(history):
    two_days = metrics.report(Scope("mittari"), datetime(2027, 1, 4, tzinfo=UTC), datetime(2027, 1, 6, tzinfo=UTC))
    value = {key: m.value for key, m in two_days.metrics.items()}
    # Asked before 6 January 00:00, answered by now: A 2/2 (her end questionnaire came on day 1), B 1/1 (on
    # day 3), C 0/1, D 1/2; four started and none ended in those days; nobody reminded yet; no messages.
    assert (value["clients_started"], value["clients_ended"], value["clients_active"]) == (4, 0, 4)
    assert value["response_rate"] == pytest.approx(100 * 4 / 6)
    assert value["reminders_sent"] == 0 and value["answered_after_reminder"] is None
    assert value["messages"] == 0 and value["within_promise"] is None
    later = metrics.report(Scope("mittari"), *Q1).metrics
    assert later["nps"].target is None and later["nps"].light is None  # no goals given: no light


def test_scores_are_kept_without_the_client(history):
    rows = db.session.scalars(select(Score).order_by(Score.id)).all()
    assert [(r.kind, r.name, r.task_spec, r.value) for r in rows] == [
        ("prom", "oireet", "alkukysely", 7.0), ("prom", "oireet", "alkukysely", 9.0),
        ("prom", "oireet", "loppukysely", 3.0), ("nps", "suosittelu", "loppukysely", 10.0),
        ("ces", "helppous", "loppukysely", 6.0), ("prom", "oireet", "alkukysely", 8.0),
        ("prom", "oireet", "loppukysely", 5.0), ("nps", "suosittelu", "loppukysely", 8.0),
        ("ces", "helppous", "loppukysely", 5.0)]
    assert not hasattr(Score, "client_id")


def test_the_grouped_tables_give_the_same_numbers_as_a_report_per_period(history):
    from orchestrator.metrics import periods
    versions = {history.id: "mittari"}
    weeks = periods.buckets(*Q1, "week", "Europe/Helsinki")
    edges = [a for _, a, _ in weeks] + [weeks[-1][2]]
    grouped = metrics.table(edges, versions, {"mittari": history.settings["goals"]})
    for i, (_first, start, end) in enumerate(weeks):
        single = metrics.report(Scope("mittari"), start, end, history.settings["goals"]).metrics
        for key in metrics.KEYS:
            got, want = grouped[("mittari", i)][key], single[key]
            assert (got.value, got.light) == (pytest.approx(want.value), want.light) if want.value is not None \
                else got.value is None, (i, key, got.value, want.value)
    quarter = metrics.table(list(Q1), versions, {"mittari": history.settings["goals"]})[("mittari", 0)]
    assert quarter["within_promise"].value == pytest.approx(100 / 3) and quarter["within_promise"].light == "red"
    assert quarter["clients_active"].value == 1 and quarter["response_rate"].value == pytest.approx(100 * 5 / 7)
