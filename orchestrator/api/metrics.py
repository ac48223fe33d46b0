"""Metrics as JSON: a pathway's (or every visible pathway's) numbers for a period, or per week, month or quarter
of it, as known now or at the end of a given day, with targets and lights."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_smorest import Blueprint, abort

from .. import metrics
from ..auth import guard
from ..clock import now
from ..metrics import periods, rollups
from .schemas import MetricQuerySchema, MetricReportSchema

blp = Blueprint("metrics", __name__, description="The organisation's metrics (aggregates only)")


@blp.route("")
@blp.arguments(MetricQuerySchema, location="query")
@blp.response(200, MetricReportSchema(many=True))
def list_metrics(args):
    """Every metric of each pathway the caller may see (or of one, `pathway`) for a quarter or `start`–`end`,
    or for each week, month or quarter of it (`by`), as known now or at the end of the day `as_of`."""
    guard.require("admin", "designer", "professional")
    start, end = _period(args)
    rollups.catch_up()
    at = _as_of(args, start)
    spans = _spans(args, start, end, at)
    versions = [v for v in guard.metric_versions() if args.get("pathway") in (None, v.pathway.key)]
    if args.get("pathway") and not versions:
        abort(404, message=f"no pathway '{args['pathway']}' that you may see the metrics of")
    number = args.get("version")
    if number is not None:  # one version of the pathway only
        if not args.get("pathway"):
            abort(422, message="name the pathway of the version", errors=[{"field": "/pathway", "message": "required"}])
        found = next((old for old in versions[0].pathway.versions if old.number == number), None)
        if found is None:
            abort(404, message=f"pathway '{args['pathway']}' has no version {number}")
        scope = metrics.Scope(args["pathway"], found.id)
        return [{**_report(args["pathway"], scope, a, b, metrics.goals(versions[0]), at), "version": number}
                for a, b in spans]
    if at is not None and not args.get("pathway"):  # a pathway deployed after the moment was not known then
        versions = [v for v in versions if min(old.deployed_at for old in v.pathway.versions) < at]
    return [_report(v.pathway.key, metrics.Scope(v.pathway.key), a, b, metrics.goals(v), at)
            for v in sorted(versions, key=lambda v: v.pathway.key) for a, b in spans]


def _report(key: str, scope, start: datetime, end: datetime, goals: dict, at: datetime | None) -> dict:
    found = metrics.report(scope, start, end, goals, at)
    return {"pathway": key, "start": start, "end": end, "as_of": found.as_of, "metrics": list(found.metrics.values()),
            "proms": [{"scale": scale, "clients": o.clients, "first_mean": o.first, "last_mean": o.last,
                       "change": o.change} for scale, o in found.proms.items()]}


def _zone() -> str:
    return current_app.config["POLKU_TIME_ZONE"]


def _period(args) -> tuple:
    if args.get("start") or args.get("end"):
        if not (args.get("start") and args.get("end")) or args["start"] >= args["end"]:
            abort(422, message="give both start and end, start before end",
                  errors=[{"field": "/start", "message": "start must come before end"}])
        return periods.day_start(args["start"], _zone()), periods.day_start(args["end"], _zone())
    try:
        return periods.quarter(args.get("quarter") or periods.quarter_of(now(), _zone()), _zone())
    except ValueError as exc:
        abort(422, message=str(exc), errors=[{"field": "/quarter", "message": str(exc)}])


def _as_of(args, start: datetime) -> datetime | None:
    """The moment the figures are as known at: the end of the day ``as_of`` (None: as known now)."""
    day = args.get("as_of")
    if day is None:
        return None
    at = periods.day_end(day, _zone())
    if at <= start:
        abort(422, message="as_of is before the period's start: nothing of the period was known then",
              errors=[{"field": "/as_of", "message": "must not be before the period's first day"}])
    if day > now().astimezone(ZoneInfo(_zone())).date():
        abort(422, message="as_of is after today: figures are known up to today only",
              errors=[{"field": "/as_of", "message": "must not be after today"}])
    return at


def _spans(args, start: datetime, end: datetime, at: datetime | None) -> list[tuple[datetime, datetime]]:
    """The periods to report: the whole, or its weeks, months or quarters (``by``), the first and last clipped
    to it, none that begins after today (or after the day ``as_of``)."""
    if not args.get("by"):
        return [(start, end)]
    today = now().astimezone(ZoneInfo(_zone())).date()
    found = periods.buckets(start, end, args["by"], _zone(), until=at or periods.day_end(today, _zone()))
    if len(found) > periods.MOST_PERIODS:
        abort(422, message=f"{len(found)} periods by {args['by']}: at most {periods.MOST_PERIODS} in one answer",
              errors=[{"field": "/by", "message": f"at most {periods.MOST_PERIODS} periods: choose a longer one or a "
                                                  "shorter start–end"}])
    return [(a, b) for _, a, b in found]
