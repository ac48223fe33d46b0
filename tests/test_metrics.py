"""The organisation's metrics from a known history on a simulated clock (the ``history`` fixture), checked
against values worked out by hand, and the traffic lights at their boundaries."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from orchestrator import metrics
from orchestrator.extensions import db
from orchestrator.metrics import rollups
from orchestrator.metrics.report import Scope
from orchestrator.models import Score

Q1 = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC))


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


def test_every_metric_of_the_quarter_matches_the_hand_computed_value(history, ctx):
    rollups.rebuild()  # counted from the rows as they are now
    found = metrics.report(Scope("mittari"), *Q1, history.settings["goals"]).metrics
    value = {key: m.value for key, m in found.items()}
    assert value["clients_started"] == 4
    assert value["clients_ended"] == 3 and value["clients_active"] == 1  # A and B completed, C withdrew; D goes on
    # Forms asked: A 2/2, B 2/2, C's taken back when she withdrew, D 1 answered and 1 still open: answered ÷
    # (answered + missed) is 5 of 5; answering regularly (≥ 80 % of their decided forms): A, B and D of three.
    assert value["response_rate"] == pytest.approx(100.0)
    assert value["answering_regularly"] == pytest.approx(100.0)
    assert (value["messages"], value["replies"]) == (3, 2)
    # Durations come from the rollups' histograms: within 0.05 % of the exact 68.5 h and 70 h.
    assert value["reply_median_hours"] == pytest.approx(68.5, rel=0.0005)
    assert value["reply_p90_hours"] == pytest.approx(70.0, rel=0.0005)
    assert value["within_promise"] == pytest.approx(100 / 3)  # C's kept; D's first late, second passed unanswered
    assert value["nps"] == pytest.approx(50.0)  # promoters A (10), passive B (8): (1 − 0) / 2
    assert value["ces"] == pytest.approx(5.5)
    assert value["professional_tasks"] == 3 and value["handling_median_hours"] == pytest.approx(12.0, rel=0.0005)
    assert value["reminders_sent"] == 2 and value["answered_after_reminder"] == pytest.approx(50.0)  # B did
    assert value["content_views"] == 2  # A viewed the page 3 times, B twice, each on one day: one view each
    # The PROM "oireet": A 7 → 3 and B 8 → 5 answered it twice (D once): first 7.5, last 4.0 on average.
    rollups.rebuild()  # counted from the rows as they are now
    (scale, outcome), = metrics.report(Scope("mittari"), *Q1).proms.items()
    assert (scale, outcome.clients, outcome.first, outcome.last, outcome.change) == ("oireet", 2, 7.5, 4.0, -3.5)
    lights = {key: (round(m.attainment, 1), m.light) for key, m in found.items() if m.target}
    assert lights == {"within_promise": (83.3, "red"), "response_rate": (125.0, "green"), "nps": (100.0, "green"),
                      "reply_median_hours": (70.1, "red")}


def test_a_period_counts_only_what_happened_in_it(history, ctx):
    rollups.rebuild()  # counted from the rows as they are now
    two_days = metrics.report(Scope("mittari"), datetime(2027, 1, 4, tzinfo=UTC), datetime(2027, 1, 6, tzinfo=UTC))
    value = {key: m.value for key, m in two_days.metrics.items()}
    # Asked before 6 January 00:00, answered by now: A 2/2 (her end questionnaire came on day 1), B 1/1 (on
    # day 3), D 1 and 1 open, C's taken back: 4 of 4; four started and none ended; nobody reminded; no messages.
    assert (value["clients_started"], value["clients_ended"], value["clients_active"]) == (4, 0, 4)
    assert value["response_rate"] == pytest.approx(100.0)
    assert value["reminders_sent"] == 0 and value["answered_after_reminder"] is None
    assert value["messages"] == 0 and value["within_promise"] is None
    rollups.rebuild()  # counted from the rows as they are now
    later = metrics.report(Scope("mittari"), *Q1).metrics
    assert later["nps"].target is None and later["nps"].light is None  # no goals given: no light


def test_scores_are_kept_without_the_client(history, ctx):
    rows = db.session.scalars(select(Score).order_by(Score.id)).all()
    assert [(r.kind, r.name, r.task_spec, r.value) for r in rows] == [
        ("prom", "oireet", "alkukysely", 7.0), ("prom", "oireet", "alkukysely", 9.0),
        ("prom", "oireet", "loppukysely", 3.0), ("nps", "suosittelu", "loppukysely", 10.0),
        ("ces", "helppous", "loppukysely", 6.0), ("prom", "oireet", "alkukysely", 8.0),
        ("prom", "oireet", "loppukysely", 5.0), ("nps", "suosittelu", "loppukysely", 8.0),
        ("ces", "helppous", "loppukysely", 5.0)]
    assert not hasattr(Score, "client_id")


def test_the_grouped_tables_give_the_same_numbers_as_a_report_per_period(history, ctx):
    from orchestrator.metrics import periods
    versions = {history.id: "mittari"}
    weeks = periods.buckets(*Q1, "week", "Europe/Helsinki")
    edges = [a for _, a, _ in weeks] + [weeks[-1][2]]
    rollups.rebuild()  # counted from the rows as they are now
    grouped = metrics.table(edges, versions, {"mittari": history.settings["goals"]})
    for i, (_first, start, end) in enumerate(weeks):
        rollups.rebuild()  # counted from the rows as they are now
        single = metrics.report(Scope("mittari"), start, end, history.settings["goals"]).metrics
        for key in metrics.KEYS:
            got, want = grouped[("mittari", i)][key], single[key]
            assert (got.value, got.light) == (pytest.approx(want.value), want.light) if want.value is not None \
                else got.value is None, (i, key, got.value, want.value)
    rollups.rebuild()  # counted from the rows as they are now
    quarter = metrics.table(list(Q1), versions, {"mittari": history.settings["goals"]})[("mittari", 0)]
    assert quarter["within_promise"].value == pytest.approx(100 / 3) and quarter["within_promise"].light == "red"
    assert quarter["clients_active"].value == 1 and quarter["response_rate"].value == pytest.approx(100.0)
