"""The metrics API as a series (``by``: per week, month or quarter of the period) and as known at the end of a day
(``as_of``), on the known history of the metrics tests (the clock stopped at 1 May 2027, the zone Helsinki)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from orchestrator.care import content, enrolment, messaging
from orchestrator.clock import CLOCK
from orchestrator.extensions import db
from orchestrator.metrics.names import MEANINGS
from orchestrator.metrics.report import ORDER
from orchestrator.models import Instance

from .conftest import Api, _answer, _fire_at

URL = "/api/v1/metrics?pathway=mittari"
HELSINKI = ZoneInfo("Europe/Helsinki")
# The flows: what began in a period (a stock, clients on the pathway, is not among them).
FLOWS = ("clients_started", "clients_ended", "messages", "replies", "professional_tasks", "reminders_sent",
         "content_views")


def _get(app, query: str):
    return Api(app.test_client(), "yllapitaja.makinen").get(f"{URL}&{query}")


def _values(report: dict) -> dict:
    return {m["key"]: m["value"] for m in report["metrics"]}


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_the_quarter_by_week_is_cut_at_local_mondays_clipped_to_the_quarter_across_summer_time(history, app):
    weeks = _get(app, "quarter=2027-Q1&by=week").json
    spans = [(_utc(r["start"]), _utc(r["end"])) for r in weeks]
    # Friday 1 January to Monday 4 January (clipped), twelve whole weeks, and Monday 29 March to 1 April (clipped).
    assert len(spans) == 14 and all(r["pathway"] == "mittari" for r in weeks)
    assert spans[0] == (datetime(2026, 12, 31, 22, tzinfo=UTC), datetime(2027, 1, 3, 22, tzinfo=UTC))
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))  # one after the other, no gap
    # Summer time begins on Sunday 28 March 2027 in Helsinki: that week has 167 hours, from 22:00 to 21:00 UTC.
    assert spans[-2] == (datetime(2027, 3, 21, 22, tzinfo=UTC), datetime(2027, 3, 28, 21, tzinfo=UTC))
    assert spans[-1] == (datetime(2027, 3, 28, 21, tzinfo=UTC), datetime(2027, 3, 31, 21, tzinfo=UTC))
    assert [_utc(r["start"]).astimezone(HELSINKI).weekday() for r in weeks[1:]] == [0] * 13  # Mondays
    whole = _values(_get(app, "quarter=2027-Q1").json[0])
    for key in FLOWS:
        assert sum(_values(r)[key] for r in weeks) == whole[key], key
        assert all(isinstance(_values(r)[key], int) for r in weeks), key
    assert _values(weeks[-1])["clients_active"] == whole["clients_active"] == 1
    assert [_values(r)["clients_started"] for r in weeks[:3]] == [0, 4, 0]  # all four in the week of 4 January
    basis = [{m["key"]: m["basis"] for m in r["metrics"]}["response_rate"] for r in weeks]
    assert sum(basis) == {m["key"]: m["basis"] for m in _get(app, "quarter=2027-Q1").json[0]["metrics"]}[
        "response_rate"]


def test_months_are_clipped_to_start_and_end_and_cut_at_local_midnight(history, app):
    months = _get(app, "start=2027-01-15&end=2027-04-10&by=month").json
    assert [(_utc(r["start"]), _utc(r["end"])) for r in months] == [
        (datetime(2027, 1, 14, 22, tzinfo=UTC), datetime(2027, 1, 31, 22, tzinfo=UTC)),
        (datetime(2027, 1, 31, 22, tzinfo=UTC), datetime(2027, 2, 28, 22, tzinfo=UTC)),
        (datetime(2027, 2, 28, 22, tzinfo=UTC), datetime(2027, 3, 31, 21, tzinfo=UTC)),  # summer time from 28 March
        (datetime(2027, 3, 31, 21, tzinfo=UTC), datetime(2027, 4, 9, 21, tzinfo=UTC))]
    whole = _values(_get(app, "start=2027-01-15&end=2027-04-10").json[0])
    for key in FLOWS:
        assert sum(_values(r)[key] for r in months) == whole[key], key
    assert whole["clients_started"] == 0 and whole["content_views"] == 0  # all on 14 January or before
    quarters = _get(app, "start=2026-11-01&end=2027-05-01&by=quarter").json
    assert [r["start"][:10] for r in quarters] == ["2026-10-31", "2026-12-31", "2027-03-31"]
    assert sum(_values(r)["clients_started"] for r in quarters) == 4


def test_no_period_that_begins_after_today(history, app):
    # The clock is at 1 May 2027 (a Saturday): the week of 26 April is the last; it keeps its end, 3 May.
    weeks = _get(app, "quarter=2027-Q2&by=week").json
    assert [r["start"][:10] for r in weeks] == ["2027-03-31", "2027-04-04", "2027-04-11", "2027-04-18", "2027-04-25"]
    assert _utc(weeks[-1]["end"]) == datetime(2027, 5, 2, 21, tzinfo=UTC)
    assert len(_get(app, "quarter=2027-Q2&by=month").json) == 2  # April and May, no June
    assert _get(app, "quarter=2027-Q3&by=month").json == []
    assert len(_get(app, "quarter=2027-Q3").json) == 1  # without by, the period asked as before


def test_pathways_come_in_order_each_with_its_periods_in_order(history, sample, app):
    found = Api(app.test_client(), "yllapitaja.makinen").get("/api/v1/metrics?quarter=2027-Q1&by=month").json
    assert [(r["pathway"], r["start"][:10]) for r in found] == [
        ("esitieto", "2026-12-31"), ("esitieto", "2027-01-31"), ("esitieto", "2027-02-28"),
        ("mittari", "2026-12-31"), ("mittari", "2027-01-31"), ("mittari", "2027-02-28")]
    one = Api(app.test_client(), "yllapitaja.makinen").get(f"{URL}&version=1&quarter=2027-Q1&by=month").json
    assert [(r["version"], _values(r)["clients_started"]) for r in one] == [(1, 4), (1, 0), (1, 0)]


def _later_events() -> None:
    """After 5 February: a new client E starts and is reminded, D is replied to and answers her end questionnaire
    (so her pathway ends), A views the page again, and the nurse reviews E."""
    d = db.session.query(Instance).filter_by(client_id="asiakas-D").one().id
    a = db.session.query(Instance).filter_by(client_id="asiakas-A").one().id
    _fire_at(datetime(2027, 2, 10, 8, tzinfo=UTC))
    version = db.session.get(Instance, d).version
    e = enrolment.join(version, "asiakas-E", "asiakas-E", None).id
    messaging.send(db.session.get(Instance, d), "professional", "hoitaja.virtanen", "Hanna", "Vastaus", {"Hoitaja"})
    _answer(d, "loppukysely", {"oireet": 2, "suosittelu": 3, "helppous": 2}, "asiakas-D")
    content.count_view(db.session.get(Instance, a), "ohje.md", "client")
    _fire_at(datetime(2027, 2, 13, 8, tzinfo=UTC))  # E's day-2 reminder
    _answer(e, "alkukysely", {"oireet": 6}, "asiakas-E")
    _fire_at(datetime(2027, 2, 14, 8, tzinfo=UTC))
    _answer(e, "arvio", {"arvio": "ok"}, "hoitaja.virtanen")
    db.session.rollback()


def test_a_closed_month_as_known_at_a_day_reads_the_same_whenever_it_is_asked(history, app, ctx):
    CLOCK.set(datetime(2027, 2, 6, 9, tzinfo=UTC))
    january = "start=2027-01-01&end=2027-02-01"
    known = _get(app, f"{january}&as_of=2027-02-05").json
    series = _get(app, "quarter=2027-Q1&by=month&as_of=2027-02-05").json
    now_then, series_then = _get(app, january).json, _get(app, "quarter=2027-Q1&by=month").json
    (report,) = known
    assert _utc(report["as_of"]) == datetime(2027, 2, 5, 22, tzinfo=UTC)  # the end of 5 February in Helsinki
    assert report["metrics"] == now_then[0]["metrics"]  # nothing has happened since: the same as known then
    assert [r["start"][:10] for r in series] == ["2026-12-31", "2027-01-31"]  # March began after 5 February
    _later_events()
    CLOCK.set(datetime(2027, 5, 1, tzinfo=UTC))
    assert _get(app, f"{january}&as_of=2027-02-05").json == known
    assert _get(app, "quarter=2027-Q1&by=month&as_of=2027-02-05").json == series
    # As known now, both have moved on: D's end questionnaire (asked in January) answered and her message replied
    # to; in February E started and was reminded, D's pathway ended, the nurse did a task, A viewed the page.
    now_january = _get(app, january).json[0]
    assert now_january["metrics"] != report["metrics"]
    assert _utc(now_january["as_of"]) == datetime(2027, 5, 1, tzinfo=UTC)
    basis = {m["key"]: m["basis"] for m in now_january["metrics"]}
    assert (basis["response_rate"], basis["reply_median_hours"]) == (6, 3)
    assert {m["key"]: m["basis"] for m in report["metrics"]}["reply_median_hours"] == 2
    february = _values(_get(app, "start=2027-02-01&end=2027-03-01").json[0])
    assert (february["clients_started"], february["clients_ended"], february["professional_tasks"],
            february["reminders_sent"], february["content_views"]) == (1, 1, 1, 1, 1)
    assert february["answered_after_reminder"] == 100.0 and february["nps"] == -100.0
    assert _values(series_then[1]) != february
    known_february = _values(series[1])
    assert (known_february["clients_started"], known_february["clients_ended"], known_february["content_views"],
            known_february["nps"], known_february["clients_active"]) == (0, 0, 0, None, 1)


def test_as_of_counts_the_day_itself_to_its_end_in_the_zone(history, app, ctx):
    # D's second message was sent on 14 January at 10:00 in Helsinki: known at the end of the 14th, not of the 13th.
    assert _values(_get(app, "start=2027-01-01&end=2027-02-01&as_of=2027-01-14").json[0])["messages"] == 3
    assert _values(_get(app, "start=2027-01-01&end=2027-02-01&as_of=2027-01-13").json[0])["messages"] == 2
    # Asked on its own first day: what was known by that day's end.
    first = _get(app, "start=2027-01-04&end=2027-02-01&as_of=2027-01-04").json[0]
    assert _values(first)["clients_started"] == 4 and _values(first)["professional_tasks"] == 1  # D's review at 15:00


def test_a_wrong_by_or_as_of_is_named(history, app):
    for query, field in (("quarter=2027-Q1&by=day", "by"), ("quarter=2027-Q1&as_of=2026-12-31", "as_of"),
                         ("start=2027-01-10&end=2027-02-01&as_of=2027-01-09", "as_of"),
                         ("quarter=2027-Q1&as_of=2027-05-02", "as_of"),  # after today (1 May 2027)
                         ("quarter=2027-Q1&as_of=5.2.2027", "as_of"),
                         ("start=2020-01-01&end=2027-01-01&by=week", "by")):  # 365 weeks
        wrong = _get(app, query)
        assert wrong.status_code == 422, query
        assert field in wrong.get_data(as_text=True), query
    assert "by" in _get(app, "quarter=2027-Q1&by=day").json["errors"]["query"]
    named = _get(app, "quarter=2027-Q1&as_of=2026-12-31").json
    assert {"field": "/as_of", "message": "must not be before the period's first day"} in named["errors"]
    assert _get(app, "quarter=2027-Q1&as_of=2027-01-01").status_code == 200  # its first day is not before it


def test_the_openapi_document_names_by_as_of_and_every_metric(client):
    document = client.get("/api/v1/openapi.json").json
    parameters = {p["name"]: p for p in document["paths"]["/api/v1/metrics"]["get"]["parameters"]}
    assert parameters["by"]["schema"]["enum"] == ["week", "month", "quarter"]
    assert "clipped" in parameters["by"]["description"]
    assert parameters["as_of"]["schema"]["format"] == "date"
    assert "end of this day in the service's zone" in parameters["as_of"]["description"]
    schemas = document["components"]["schemas"]
    report = schemas[next(name for name in schemas if name.startswith("MetricReport"))]["properties"]
    assert report["as_of"]["format"] == "date-time" and "proms" in report
    key = schemas["Metric"]["properties"]["key"]["description"]
    assert set(ORDER) == set(MEANINGS)
    for name in ORDER:
        assert f"{name}: {MEANINGS[name]}" in key, name
