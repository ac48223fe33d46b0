"""Prometheus metrics an operator scrapes at ``/prometheus``: requests by route, steps by kind, how late timers
fire, and at scrape time the backlogs a stuck process leaves (overdue timers, the outbox, open incidents).

Counts and route names only, never a client or a health detail. Not the dashboards under ``/metrics``: those
are the care organisation's own figures. Each app keeps its own registry (``app.extensions["polku_prometheus"]``):
every server process is a scrape target of its own (no multiprocess mode), and an app built for a simulation
or a test counts only its own. The step core records through ``step_taken`` and ``timers_fired``, which find
the registry of the app at hand and do nothing without one.

Access: a request from this host (loopback, not passed on by a proxy), or one that sends
``Authorization: Bearer <POLKU_PROMETHEUS_TOKEN>``.
"""

import hmac
import ipaddress
import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from time import perf_counter

from flask import Blueprint, Flask, Response, current_app, has_app_context, request
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from sqlalchemy import bindparam, case, func, select
from sqlalchemy.exc import SQLAlchemyError

from . import MIN_TOKEN
from .clock import now
from .extensions import db
from .models import Instance, Outgoing, Timer

log = logging.getLogger(__name__)
KEY = "polku_prometheus"
STARTED = "polku.prometheus_started"  # in the request's WSGI environ
UNMATCHED = "unmatched"  # the route label of a request no route took (404, 405): never the raw path
# Any other method is "other": a caller must not be able to make up label values.
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
# A completion takes about 2 ms: the lower buckets tell steps apart, the upper ones catch the slow.
SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# A timer fires about 5 ms after its time when this process set it, within a sweep (2 s) when another did,
# and hours late after the service was down.
LAG = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
TIMERS, INSTANCES, OUTBOX = Timer.__table__, Instance.__table__, Outgoing.__table__
# Each answered by an index: timer (due_at) and the instance's key; outbox (status, due_at); instance (status, …).
_OVERDUE = (select(func.count(), func.min(TIMERS.c.due_at))
            .join_from(TIMERS, INSTANCES, INSTANCES.c.id == TIMERS.c.instance_id)
            .where(TIMERS.c.due_at < bindparam("at"), INSTANCES.c.status == "running"))
_OUTBOX = (select(OUTBOX.c.status, func.count(), func.sum(case((OUTBOX.c.due_at <= bindparam("at"), 1), else_=0)))
           .where(OUTBOX.c.status.in_(("pending", "dead"))).group_by(OUTBOX.c.status))
_INCIDENTS = select(func.count()).select_from(INSTANCES).where(INSTANCES.c.status == "incident")

blp = Blueprint("prometheus", __name__)


class Metrics:
    """One app's registry and the metrics recorded as things happen."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("polku_http_requests", "HTTP requests answered, by route, method and status code",
                                ["endpoint", "method", "code"], registry=self.registry)
        self.latency = Histogram("polku_http_request_duration_seconds",
                                 "Time to answer an HTTP request, by route, method and status class (2xx, 4xx, ...)",
                                 ["endpoint", "method", "status"], buckets=SECONDS, registry=self.registry)
        self.steps = Histogram("polku_step_duration_seconds",
                               "Time an instance step takes, its transaction included, by kind (the event it records)",
                               ["kind"], buckets=SECONDS, registry=self.registry)
        self.timer_lag = Histogram("polku_timer_lag_seconds", "How long after its due time a timer fired",
                                   buckets=LAG, registry=self.registry)
        self.registry.register(Backlogs())
        self._routes: dict[tuple, tuple] = {}  # the children of a route's label values, found once

    def answered(self, endpoint: str, method: str, code: int, seconds: float) -> None:
        children = self._routes.get((endpoint, method, code))
        if children is None:  # two threads may both get here: labels() hands both the same children
            children = self._routes[endpoint, method, code] = (
                self.requests.labels(endpoint, method, str(code)),
                self.latency.labels(endpoint, method, f"{code // 100}xx"))
        children[0].inc()
        children[1].observe(seconds)


class Backlogs:
    """Read at scrape time, one indexed query each: every process reports the same database, so take the max."""

    def describe(self) -> list:
        return list(self._families())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if not has_app_context():
            return
        at = now()
        try:
            overdue, oldest = db.session.execute(_OVERDUE, {"at": at}).one()
            outbox = {status: (count, due or 0) for status, count, due in db.session.execute(_OUTBOX, {"at": at})}
            incidents = db.session.scalar(_INCIDENTS)
        except SQLAlchemyError:
            log.warning("the database did not answer the scrape's queries", exc_info=True)
            return
        finally:
            db.session.rollback()  # read only: the transaction ends here, not at the request's end
        timers, oldest_seconds, messages, due, open_incidents = self._families()
        timers.add_metric([], overdue)
        oldest_seconds.add_metric([], (at - oldest).total_seconds() if oldest else 0)
        for status in ("pending", "dead"):
            messages.add_metric([status], outbox.get(status, (0, 0))[0])
        due.add_metric([], outbox.get("pending", (0, 0))[1])
        open_incidents.add_metric([], incidents)
        yield from (timers, oldest_seconds, messages, due, open_incidents)

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (GaugeMetricFamily("polku_timers_overdue", "Waiting timers of running instances past their due time "
                                  "(the schedulers' backlog; timers of suspended or stopped instances wait by design)"),
                GaugeMetricFamily("polku_timers_overdue_oldest_seconds",
                                  "How long the most overdue of those timers has been due (0: none)"),
                GaugeMetricFamily("polku_outbox_messages", "Outbox messages waiting to be sent (pending) or given up "
                                  "on (dead)", labels=["status"]),
                GaugeMetricFamily("polku_outbox_due_messages",
                                  "Pending outbox messages whose time to be sent has come"),
                GaugeMetricFamily("polku_incidents_open", "Instances stopped on an incident, waiting for an operator"))


def init(app: Flask) -> None:
    """The app's registry, the request hooks and the scrape route. Called first in the factory, so that the
    request's time includes the other hooks."""
    token = app.config["POLKU_PROMETHEUS_TOKEN"]
    if token and len(token.strip()) < MIN_TOKEN:
        raise RuntimeError(f"POLKU_PROMETHEUS_TOKEN is too short: give it at least {MIN_TOKEN} random characters, "
                           "or leave it empty to allow scrapes from this host only")
    metrics = app.extensions[KEY] = Metrics()

    # The request object itself, not the proxy: each attribute read through the proxy costs microseconds.
    @app.before_request
    def start_request_clock() -> None:
        request._get_current_object().environ[STARTED] = perf_counter()

    @app.after_request  # after_request hooks run last first: this one sees the others' time too
    def count_request(response):
        req = request._get_current_object()
        started = req.environ.get(STARTED)
        if started is not None:
            method = req.method if req.method in METHODS else "other"
            metrics.answered(req.endpoint or UNMATCHED, method, response.status_code, perf_counter() - started)
        return response

    app.register_blueprint(blp)


def _metrics() -> Metrics | None:
    return current_app.extensions.get(KEY) if has_app_context() else None


def recording() -> bool:
    """Whether the app at hand keeps metrics (else what only they need need not be read)."""
    return _metrics() is not None


def step_taken(kind: str, seconds: float) -> None:
    """A step of ``kind`` (the event it wrote) committed, ``seconds`` after its transaction began."""
    metrics = _metrics()
    if metrics is not None:
        metrics.steps.labels(kind).observe(seconds)


def timers_fired(due: dict[str, datetime], fired: Iterable, at: datetime) -> None:
    """The timers (task views) a step fired at ``at``; ``due``: the due times the Timer rows had, by id. A cycle
    that fired several times at once counts once, from its first due time."""
    metrics = _metrics()
    if metrics is None:
        return
    for timer_id in {timer.id for timer in fired} & due.keys():
        metrics.timer_lag.observe(max((at - due[timer_id]).total_seconds(), 0))


@blp.route("/prometheus")
def scrape():
    """The metrics in Prometheus's text format (or OpenMetrics, when asked), for this host or the token's bearer."""
    refused = _refused()
    if refused is not None:
        return refused
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))  # OpenMetrics when Prometheus asks
    return Response(encode(current_app.extensions[KEY].registry), content_type=content_type)


PROXIED = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def _refused() -> Response | None:
    token = current_app.config["POLKU_PROMETHEUS_TOKEN"].strip()
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return None
    if _from_this_host():
        return None
    if not token:
        return Response("403 Forbidden: the Prometheus metrics answer only requests from this host (loopback, not "
                        "through a proxy); set POLKU_PROMETHEUS_TOKEN to scrape from elsewhere with a bearer token\n",
                        403, mimetype="text/plain")
    return Response("401 Unauthorized: send Authorization: Bearer <the token set in POLKU_PROMETHEUS_TOKEN>\n", 401,
                    mimetype="text/plain", headers={"WWW-Authenticate": 'Bearer realm="polku-prometheus"'})


def _from_this_host() -> bool:
    """Loopback, and not a proxy on this host passing on someone else's request."""
    if any(name in request.headers for name in PROXIED):
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return (mapped or address).is_loopback
