"""Metrics as JSON: a pathway's (or every visible pathway's) numbers for a period, with targets and lights."""

from flask import current_app
from flask_smorest import Blueprint, abort

from .. import metrics
from ..auth import guard
from ..clock import now
from ..metrics import periods
from .schemas import MetricQuerySchema, MetricReportSchema

blp = Blueprint("metrics", __name__, description="The organisation's metrics (aggregates only)")


@blp.route("")
@blp.arguments(MetricQuerySchema, location="query")
@blp.response(200, MetricReportSchema(many=True))
def list_metrics(args):
    """Every metric of each pathway the caller may see (or of one, `pathway`) for a quarter or `start`–`end`."""
    guard.require("admin", "designer", "professional")
    start, end = _period(args)
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
        return [{"pathway": args["pathway"], "version": number, "start": start, "end": end,
                 "metrics": list(metrics.report(scope, start, end, metrics.goals(versions[0])).metrics.values())}]
    return [{"pathway": v.pathway.key, "start": start, "end": end,
             "metrics": list(metrics.report(metrics.Scope(v.pathway.key), start, end, metrics.goals(v))
                             .metrics.values())}
            for v in versions]


def _period(args) -> tuple:
    zone = current_app.config["POLKU_TIME_ZONE"]
    if args.get("start") or args.get("end"):
        if not (args.get("start") and args.get("end")) or args["start"] >= args["end"]:
            abort(422, message="give both start and end, start before end",
                  errors=[{"field": "/start", "message": "start must come before end"}])
        return periods.day_start(args["start"], zone), periods.day_start(args["end"], zone)
    try:
        return periods.quarter(args.get("quarter") or periods.quarter_of(now(), zone), zone)
    except ValueError as exc:
        abort(422, message=str(exc), errors=[{"field": "/quarter", "message": str(exc)}])
