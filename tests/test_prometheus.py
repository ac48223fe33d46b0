"""Prometheus metrics at /prometheus: requests by route (never a raw path), steps by kind, timer lag, and the
backlogs read at scrape time (overdue timers, the outbox, open incidents); open to this host and the token."""

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from orchestrator import create_app, monitoring
from orchestrator.clock import CLOCK
from orchestrator.core import firing, outbox
from orchestrator.core.database import write

from .conftest import ANSWERS, _config, dispose, make_app
from .fixtures import timer_shapes as shapes
from .fixtures.builders import script_bpmn
from .helpers import deploy_bpmn, upload

START = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
TOKEN = "scrape-token-0123456789abcdefghij"
ELSEWHERE = {"REMOTE_ADDR": "10.1.2.3"}
pytestmark = pytest.mark.clock(START)


def scrape(client, **kw) -> dict[tuple, float]:
    """Every sample by its name and labels: ``{("polku_incidents_open", ()): 1.0, ...}``."""
    response = client.get("/prometheus", **kw)
    assert response.status_code == 200, response.data
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_task_completion_counts_its_route_by_endpoint_and_its_steps_by_kind(app, client, api, sample, clock):
    before = scrape(client)
    started = api.start("esitieto", client_id="asiakas-123")
    task_id = started["tasks"][0]["id"]
    assert api.complete(task_id, ANSWERS["esitietolomake"]).status_code == 200
    after = scrape(client)

    route = {"endpoint": "tasks.complete", "method": "POST"}
    assert value(after, "polku_http_requests_total", **route, code="200") == 1
    assert value(after, "polku_http_request_duration_seconds_count", **route, status="2xx") == 1
    assert value(after, "polku_http_request_duration_seconds_bucket", **route, status="2xx", le="+Inf") == 1
    assert value(after, "polku_http_requests_total", endpoint="instances.Instances", method="POST", code="201") == 1
    assert not any(task_id in str(labels) for _name, labels in after), "a path's ids never become a label"
    assert value(after, "polku_step_duration_seconds_count", kind="started") == 1
    assert value(after, "polku_step_duration_seconds_count", kind="task_completed") == 1
    assert 0 < value(after, "polku_step_duration_seconds_sum", kind="task_completed") < 10
    # The scrape counts itself, once it has answered.
    assert value(before, "polku_http_requests_total", endpoint="prometheus.scrape", method="GET", code="200") == 0
    assert value(after, "polku_http_requests_total", endpoint="prometheus.scrape", method="GET", code="200") == 1


def test_a_refused_completion_is_counted_by_its_code_and_takes_no_step(app, client, api, sample, clock):
    started = api.start("esitieto", client_id="asiakas-123")
    assert api.complete(started["tasks"][0]["id"], {"kipu": "kova"}).status_code == 422
    samples = scrape(client)
    assert value(samples, "polku_http_requests_total", endpoint="tasks.complete", method="POST", code="422") == 1
    assert value(samples, "polku_http_request_duration_seconds_count", endpoint="tasks.complete", method="POST",
                 status="4xx") == 1
    assert value(samples, "polku_step_duration_seconds_count", kind="task_completed") == 0


def test_a_path_no_route_takes_is_unmatched_and_a_made_up_method_is_other(client):
    assert client.get("/no/such/page/12345").status_code == 404
    assert client.open("/prometheus", method="BREW").status_code == 405
    samples = scrape(client)
    assert value(samples, "polku_http_requests_total", endpoint="unmatched", method="GET", code="404") == 1
    assert value(samples, "polku_http_requests_total", endpoint="unmatched", method="other", code="405") == 1
    assert not any("12345" in str(labels) or "BREW" in str(labels) for _name, labels in samples)


def test_a_timer_fired_late_is_its_lag_and_an_overdue_one_is_counted_until_it_fires(app, client, api, clock, ctx):
    deploy_bpmn("odotus", shapes.intermediate("timeDuration", "P2D"))
    api.start("odotus")
    due = START + timedelta(days=2)
    CLOCK.set(due - timedelta(seconds=1))
    waiting = scrape(client)
    assert value(waiting, "polku_timers_overdue") == 0
    assert value(waiting, "polku_timers_overdue_oldest_seconds") == 0

    CLOCK.set(due + timedelta(seconds=90))  # the scheduler was down
    overdue = scrape(client)
    assert value(overdue, "polku_timers_overdue") == 1
    assert value(overdue, "polku_timers_overdue_oldest_seconds") == 90
    CLOCK.set(due + timedelta(seconds=4))
    assert firing.fire_due() == 1  # as the scheduler fires it, in the app's context

    fired = scrape(client)
    assert value(fired, "polku_timer_lag_seconds_count") == 1
    assert value(fired, "polku_timer_lag_seconds_sum") == 4
    assert value(fired, "polku_timer_lag_seconds_bucket", le="2.5") == 0
    assert value(fired, "polku_timer_lag_seconds_bucket", le="5.0") == 1
    assert value(fired, "polku_step_duration_seconds_count", kind="timers_fired") == 1
    assert value(fired, "polku_timers_overdue") == 0


def test_the_outbox_backlog_by_status_and_what_is_due(app, client, clock, ctx):
    later = START + timedelta(hours=3)
    with write():
        outbox.add([outbox.message("sms", "+358401234567", "Muistutus", "reminder"),
                    outbox.message("email", "aino@example.org", "Muistutus", "reminder", due_at=later),
                    {**outbox.message("sms", "+358409999999", "Muistutus", "reminder"), "status": "dead"},
                    {**outbox.message("sms", "+358408888888", "Muistutus", "reminder"), "status": "sent"}])
    samples = scrape(client)
    assert value(samples, "polku_outbox_messages", status="pending") == 2
    assert value(samples, "polku_outbox_messages", status="dead") == 1
    assert ("polku_outbox_messages", (("status", "sent"),)) not in samples, "sent ones are history, not backlog"
    assert value(samples, "polku_outbox_due_messages") == 1
    CLOCK.set(later)
    assert value(scrape(client), "polku_outbox_due_messages") == 2


def test_an_incident_is_open_until_an_operator_handles_it(app, client, api, clock):
    assert value(scrape(client), "polku_incidents_open") == 0
    assert upload(api, {"laskenta.bpmn": script_bpmn("tulos = 10 / jakaja")}, key="laskenta").status_code == 201
    instance = api.start("laskenta", variables={"jakaja": 0})
    assert instance["status"] == "incident"
    assert value(scrape(client), "polku_incidents_open") == 1
    terminated = api.post(f"/api/v1/instances/{instance['id']}/terminate", {"reason": "väärä syöte"},
                          headers={"X-Polku-Actor": "yllapitaja.makinen"})
    assert terminated.status_code == 200, terminated.json
    samples = scrape(client)
    assert value(samples, "polku_incidents_open") == 0
    assert value(samples, "polku_step_duration_seconds_count", kind="cancelled") == 1


def test_prometheus_asking_for_openmetrics_gets_it(client):
    response = client.get("/prometheus", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert response.get_data(as_text=True).endswith("# EOF\n")


def test_only_this_host_may_scrape_without_a_token(client):
    assert scrape(client, environ_base={"REMOTE_ADDR": "::1"})
    refused = client.get("/prometheus", environ_base=ELSEWHERE)
    assert refused.status_code == 403 and refused.mimetype == "text/plain"
    assert "POLKU_PROMETHEUS_TOKEN" in refused.get_data(as_text=True)
    proxied = client.get("/prometheus", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 403, "a proxy on this host passes on someone else's request"
    assert client.get("/prometheus", environ_base=ELSEWHERE, headers={"Authorization": f"Bearer {TOKEN}"}) \
        .status_code == 403, "no token is set: none is taken"


def test_a_scraper_elsewhere_sends_the_token(tmp_path):
    class Config(_config(tmp_path)):
        POLKU_PROMETHEUS_TOKEN = TOKEN

    app = make_app(Config)
    try:
        client = app.test_client()
        missing = client.get("/prometheus", environ_base=ELSEWHERE)
        assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = client.get("/prometheus", environ_base=ELSEWHERE, headers={"Authorization": "Bearer arvaus"})
        assert wrong.status_code == 401 and "Authorization: Bearer" in wrong.get_data(as_text=True)
        assert scrape(client, environ_base=ELSEWHERE, headers={"Authorization": f"Bearer {TOKEN}"})
        assert scrape(client), "this host still needs none"
    finally:
        dispose(app)


def test_a_short_token_is_refused_at_start(tmp_path):
    class Config(_config(tmp_path)):
        POLKU_PROMETHEUS_TOKEN = "lyhyt"

    with pytest.raises(RuntimeError, match="POLKU_PROMETHEUS_TOKEN is too short"):
        create_app(Config)


def test_each_app_counts_its_own_and_nothing_is_recorded_without_one(app, client, tmp_path):
    other = create_app(_config(tmp_path))  # a second app in this process: no duplicated timeseries
    try:
        monitoring.step_taken("task_completed", 0.5)  # no app context: nothing, and no error
        with other.app_context():
            monitoring.step_taken("task_completed", 0.5)
        assert value(scrape(client), "polku_step_duration_seconds_count", kind="task_completed") == 0
        assert value(scrape(other.test_client()), "polku_step_duration_seconds_count", kind="task_completed") == 1
    finally:
        dispose(other)
