"""The metrics' rollups: counted as things happen (``catch_up`` after each step, as the scheduler and the
dashboards run it) they hold exactly what counting them again from the rows (``rebuild``) gives; the
dashboards' figures read from them are the known history's; a move of instances between versions is counted
again; the operator's ``flask metrics rebuild``."""

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from orchestrator import metrics
from orchestrator.extensions import db
from orchestrator.metrics import periods, rollups
from orchestrator.metrics.report import Scope
from orchestrator.models import Instance, MetricClient, MetricDay, MetricProm, RollupMark
from orchestrator.tools import deploy

from .conftest import ROOT, make_history
from .fixtures import metrics_pathway

ZONE = "Europe/Helsinki"


def snapshot() -> dict:
    """Every rollup row that holds something, by its key."""
    days = {(r.version_id, r.pathway_key, r.day, r.metric, r.known, r.label, r.bucket): r.value
            for r in db.session.scalars(select(MetricDay)) if r.value}
    clients = {(r.pathway_key, r.quarter, r.instance_id): (r.answered, r.decided)
               for r in db.session.scalars(select(MetricClient))}
    answers = {(r.pathway_key, r.quarter, r.instance_id, r.scale): (r.answers, r.first, r.last)
               for r in db.session.scalars(select(MetricProm))}
    return {"days": days, "clients": clients, "proms": answers}


def test_counted_as_it_happens_is_what_counting_again_from_the_rows_gives(app, clock):
    version = make_history(app, clock, after=rollups.catch_up)
    with app.app_context():
        rollups.catch_up()  # at 1 May: D's second message's reply-by time (18 January) has passed since
        counted = snapshot()
        rollups.rebuild()
        assert snapshot() == counted
        assert {metric for (*_, metric, _k, _l, _b) in counted["days"]} >= {
            "started", "ended", "answered", "decided", "messages", "replies", "promises", "kept", "reply_hours",
            "professional_tasks", "handling_hours", "nps_n", "promoters", "ces_n", "ces_sum", "views",
            "reminders_sent", "about_tasks", "answered_after", "clients_deciding", "clients_regular", "prom_clients",
            "prom_first", "prom_last"}
        # The dashboards' figures of the quarter, from the rollups, are the history's worked out by hand.
        quarter = periods.quarter("2027-Q1", ZONE)
        found = {k: m.value for k, m in metrics.report(Scope("mittari"), *quarter).metrics.items()}
        assert (found["clients_started"], found["clients_ended"], found["clients_active"]) == (4, 3, 1)
        assert found["within_promise"] == pytest.approx(100 / 3) and found["response_rate"] == pytest.approx(100)
        assert (found["messages"], found["replies"], found["reminders_sent"], found["content_views"]) == (3, 2, 2, 2)
        assert found["reply_median_hours"] == pytest.approx(68.5, rel=0.0005)
        # Answering regularly is read from the clients' quarterly counts for a quarter as known now, and
        # counted from the forms for a moment: the two agree.
        at_end = metrics.report(Scope("mittari"), *quarter, at=periods.day_end(date(2027, 4, 30), ZONE)).metrics
        assert found["answering_regularly"] == at_end["answering_regularly"].value == pytest.approx(100)
        assert metrics.report(Scope("mittari"), *quarter).metrics["answering_regularly"].basis == 3
        # PROM outcomes likewise: A 7 → 3 and B 8 → 5 answered twice (D once), from the rollups and the answers.
        (scale, outcome), = metrics.report(Scope("mittari"), *quarter).proms.items()
        assert (scale, outcome.clients, outcome.first, outcome.last) == ("oireet", 2, 7.5, 4.0)
        assert metrics.report(Scope("mittari"), *quarter, at=periods.day_end(date(2027, 4, 30), ZONE)).proms == \
            metrics.report(Scope("mittari"), *quarter).proms
        assert version.id in {v for (v, *_rest) in counted["days"]}


def test_as_known_at_the_end_of_a_day_counts_only_what_was_known_by_then(app, clock):
    make_history(app, clock)
    with app.app_context():
        rollups.catch_up()
        quarter = periods.quarter("2027-Q1", ZONE)
        # By the end of 12 January C's message was answered (11 Jan, in time), D's first not yet, its reply-by
        # (13 Jan 16:00) not passed: one promise settled, kept.
        then = metrics.report(Scope("mittari"), *quarter, at=periods.day_end(date(2027, 1, 12), ZONE)).metrics
        assert (then["within_promise"].value, then["within_promise"].basis) == (100, 1)
        assert then["messages"].value == 2 and then["reply_median_hours"].basis == 1
        later = metrics.report(Scope("mittari"), *quarter, at=periods.day_end(date(2027, 1, 13), ZONE)).metrics
        assert (later["within_promise"].value, later["within_promise"].basis) == (50, 2)  # D's passed unanswered


def test_a_move_between_versions_is_counted_again(app, clock):
    first = make_history(app, clock)
    with app.app_context():
        rollups.catch_up()
        files = {"mittari.bpmn": metrics_pathway.BPMN.replace('name="', 'name="Uusi ', 1).encode(),
                 **{n: json.dumps(f).encode() for n, f in metrics_pathway.FORMS.items()}}
        second = deploy.deploy([deploy.from_files(files, "mittari", ROOT / "forms")], "tester")[0].version
        assert second.id != first.id
        with db.session.begin():  # as a move writes the instance's version, and marks its pathway
            db.session.execute(update(Instance).where(Instance.client_id == "asiakas-D").values(version_id=second.id))
        from orchestrator.core.database import write
        with write():
            rollups.stale("mittari")
        rollups.catch_up()
        counted = snapshot()
        assert db.session.get(RollupMark, "stale:mittari") is None
        started = {v: n for (v, _p, _d, metric, *_rest), n in counted["days"].items() if metric == "started"}
        assert started == {first.id: 3, second.id: 1}
        rollups.rebuild()
        assert snapshot() == counted


def test_an_operator_counts_them_again(app, clock, runner):
    make_history(app, clock)
    with app.app_context():
        db.session.execute(db.delete(MetricDay))
        db.session.commit()
    result = runner.invoke(args=["metrics", "rebuild"])
    assert result.exit_code == 0 and "counted again" in result.output
    with app.app_context():
        assert snapshot()["days"] and db.session.get(RollupMark, "counted").at == datetime(2027, 5, 1, tzinfo=UTC)
    assert "up to date" in runner.invoke(args=["metrics", "catch-up"]).output
