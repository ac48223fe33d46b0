"""Logs an operator can follow: each request's id on every line it causes, JSON lines when asked for, and
SpiffWorkflow's own per-task INFO lines (one for every task of every step) left out.

A request takes its id from ``X-Request-ID`` when a proxy sent a sane one, else makes one; the response
carries it back, so a client's report, the proxy's log and Polku's log meet. ``POLKU_LOG_FORMAT=json`` makes
``flask serve`` write one JSON object a line (python-json-logger): time, level, logger, message, request id,
process.
"""

import logging
import re
import uuid

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

SANE = re.compile(r"^[\w.:-]{1,100}$")
FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(process)d"


class RequestId(logging.Filter):
    """Puts the request's id on each record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def init(app: Flask) -> None:
    """Request ids for every request; SpiffWorkflow's per-task chatter and APScheduler's lines for each run of
    the timer sweep (two every two seconds a process) kept out of the logs. Polku's scheduler says itself what
    it fired."""
    logging.getLogger("spiff").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)

    @app.before_request
    def take_request_id() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if SANE.match(given) else uuid.uuid4().hex

    @app.after_request
    def give_request_id(response):
        if g.get("request_id"):
            response.headers["X-Request-ID"] = g.request_id
        return response


def configure(json_lines: bool) -> None:
    """The process's log handler (``flask serve``): JSON lines or plain text, each with its request id."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestId())
    handler.setFormatter(JsonFormatter(FIELDS, rename_fields={"asctime": "time", "levelname": "level",
                                                              "name": "logger"})
                         if json_lines else logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] "
                                                              "%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
