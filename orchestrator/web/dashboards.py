"""Dashboards for administrators, designers and team leads: every pathway's metrics with traffic lights,
a page per pathway with trends, the quarterly summary, and each table as CSV. Only aggregates, no client."""

import csv
import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import metrics
from ..auth import access, guard
from ..care import staff_surveys
from ..clock import now
from ..core.database import write
from ..extensions import db
from ..metrics import periods, rollups
from ..metrics.names import UNITS
from ..models import MetricGoal
from .numbers import typed_number

blp = Blueprint("dashboards", __name__, url_prefix="/metrics")
OVERVIEW = ("clients_active", "clients_started", "response_rate", "within_promise", "nps", "ces", "content_views")
TRENDS = ("clients_started", "clients_active", "response_rate", "within_promise", "nps", "content_views")
ROLES = ("admin", "designer", "professional")
TABLES = ("metrics", "trends", "content", "proms")  # a pathway's tables to download
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _zone() -> str:
    return current_app.config["POLKU_TIME_ZONE"]


def _quarter() -> tuple[str, tuple]:
    label = request.values.get("quarter") or periods.quarter_of(now(), _zone())
    try:
        return label, periods.quarter(label, _zone())
    except ValueError:
        abort(422, description=_("Choose a quarter such as 2027-Q1."))


@blp.route("/<key>/goals", methods=["POST"])
@guard.signed_in("admin")
def set_goal(key: str):
    """An administrator sets (or, with an empty value, removes) the target of one of a pathway's metrics; a
    wrong value shows the page again with the message beside the field."""
    version = _visible(key)
    metric, raw = request.form.get("metric", ""), request.form.get("value", "").strip()
    value = typed_number(raw) if raw else None
    if metric not in UNITS:
        return _pathway_page(version, {"metric": _("Choose a metric from the list.")}), 422
    if raw and (value is None or not 0 < value < 1e9):
        return _pathway_page(version, {"value": _("A target is a positive number, for example 95.")}), 422
    with write():
        found = db.session.get(MetricGoal, (key, metric))
        if not raw:
            if found is not None:
                db.session.delete(found)
        else:
            found = found or MetricGoal(pathway_key=key, metric=metric)
            found.value, found.set_by, found.set_at = float(value), guard.actor(), now()
            db.session.add(found)
    return redirect(url_for("dashboards.pathway", key=version.pathway.key, quarter=request.form.get("quarter"),
                            saved=metric))


@blp.route("")
@guard.signed_in(*ROLES)
def overview():
    """Every pathway's key metrics for a quarter, with their lights."""
    label, (start, end) = _quarter()
    rollups.catch_up()
    versions, everyone = guard.metric_versions(), guard.user().role != "professional"
    # Administrators and designers also see the totals: over every pathway, and over each kind.
    also = {v.pathway.key: ["", f"kind:{v.kind}"] for v in versions} if everyone else {}
    found = metrics.table([start, end], _pathway_of(versions), {v.pathway.key: metrics.goals(v) for v in versions},
                                also)
    rows = [(v, found[(v.pathway.key, 0)]) for v in versions]
    total = found.get(("", 0))
    kinds = [(kind, found[(f"kind:{kind}", 0)]) for kind in ("professional", "self-care")
             if (f"kind:{kind}", 0) in found]
    staff = staff_surveys.results(start, end) if everyone else []
    return render_template("web/metrics/overview.html", rows=rows, total=total, columns=OVERVIEW, quarter=label,
                           quarters=_choices(label), staff=staff, kinds=kinds)


@blp.route("/all.csv")
@guard.signed_in(*ROLES)
def overview_csv():
    label, (start, end) = _quarter()
    rollups.catch_up()
    lines = [["pathway", "quarter", "metric", "value", "basis", "target", "attainment_percent", "light"]]
    versions = guard.metric_versions()
    found = metrics.table([start, end], _pathway_of(versions), {v.pathway.key: metrics.goals(v) for v in versions})
    for version in versions:
        lines += [[version.pathway.key, label, *_cells(m)] for m in found[(version.pathway.key, 0)].values()]
    return _csv(lines, f"metrics-{label}.csv")


@blp.route("/<key>")
@guard.signed_in(*ROLES)
def pathway(key: str):
    """One pathway: every metric with its target and light, its content views, and trends over time."""
    return _pathway_page(_visible(key))


def _pathway_page(version, errors: dict | None = None) -> str:
    """A pathway's page for the quarter asked (in the query or the form); ``errors`` by field of the target form."""
    key = version.pathway.key
    label, (start, end) = _quarter()
    rollups.catch_up()
    by = request.args.get("by") if request.args.get("by") in periods.BY else "week"  # the quarter, week by week
    report = metrics.report(metrics.Scope(key), start, end, metrics.goals(version))
    return render_template("web/metrics/pathway.html", version=version, report=report, quarter=label, by=by,
                           quarters=_choices(label), trends=_trends(key, version, label, by), errors=errors or {},
                           form=request.form)


@blp.route("/<key>.csv")
@guard.signed_in(*ROLES)
def pathway_csv(key: str):
    """A pathway's table as CSV: its metrics (``table=metrics``), trends (``trends``) or content views."""
    version = _visible(key)
    label, (start, end) = _quarter()
    rollups.catch_up()
    table = request.args.get("table", "metrics")
    if table not in TABLES:
        abort(422, description=_("Choose a table: metrics, trends, content or proms."))
    if table == "trends":
        by = request.args.get("by") if request.args.get("by") in periods.BY else "month"
        lines = [["pathway", "period", "metric", "value", "basis", "target", "attainment_percent", "light"]]
        for name, found in _trend_reports(key, version, label, by):
            lines += [[key, name, *_cells(found[m])] for m in TRENDS]
    elif table == "content":
        lines = [["pathway", "quarter", "page", "views"]] + [
            [key, label, page, n] for page, n in metrics.report(metrics.Scope(key), start, end).content.items()]
    elif table == "proms":
        lines = [["pathway", "quarter", "scale", "clients", "first_mean", "last_mean", "change"]] + [
            [key, label, scale, o.clients, round(o.first, 3), round(o.last, 3), round(o.change, 3)]
            for scale, o in metrics.report(metrics.Scope(key), start, end).proms.items()]
    else:
        report = metrics.report(metrics.Scope(key), start, end, metrics.goals(version))
        lines = [["pathway", "quarter", "metric", "value", "basis", "target", "attainment_percent", "light"]]
        lines += [[key, label, *_cells(m)] for m in report.metrics.values()]
    return _csv(lines, f"metrics-{key}-{table}-{label}.csv")


@blp.route("/staff.csv")
@guard.signed_in("admin", "designer")
def staff_csv():
    """The staff surveys sent in a quarter, their answers counted (anonymous) and their staff NPS."""
    label, (start, end) = _quarter()
    lines = [["team", "sent", "closes", "answered", "team_size", "staff_nps"]] + [
        [s.team.key, s.sent_at.date().isoformat(), s.closes_at.date().isoformat(), answered, size,
         "" if score is None else round(score, 1)] for s, answered, size, score in staff_surveys.results(start, end)]
    return _csv(lines, f"staff-nps-{label}.csv")


@blp.route("/quarters")
@guard.signed_in(*ROLES)
def quarters():
    """The year's follow-up, quarter by quarter: each pathway's key metrics and lights."""
    year = request.args.get("year", type=int) or int(periods.quarter_of(now(), _zone())[:4])
    if not 2000 <= year <= 2100:
        abort(422, description=_("Choose a year between 2000 and 2100."))
    this = periods.quarter_of(now(), _zone())
    rollups.catch_up()
    versions, names = guard.metric_versions(), [q for q in periods.quarters(year) if q <= this] or [f"{year}-Q1"]
    edges = [periods.quarter(q, _zone())[0] for q in names] + [periods.quarter(names[-1], _zone())[1]]
    found = metrics.table(edges, _pathway_of(versions), {v.pathway.key: metrics.goals(v) for v in versions}) \
        if versions else {}
    table = [(q, [(v, found[(v.pathway.key, i)]) for v in versions]) for i, q in enumerate(names)]
    return render_template("web/metrics/quarters.html", year=year, table=table, columns=OVERVIEW)


def _visible(key: str):
    version = next((v for v in guard.metric_versions() if v.pathway.key == key), None)
    if version is None:
        abort(404)
    return version


def _choices(current: str) -> list[str]:
    """The quarters to pick from: this year's and last year's, none that has not begun."""
    year, this = int(current[:4]), periods.quarter_of(now(), _zone())
    return [q for y in (year - 1, year) for q in periods.quarters(y) if q <= max(this, current)]


def _pathway_of(versions) -> dict[int, str]:
    """Every version id of these pathways (not only their latest), mapped to the pathway's key."""
    return {old.id: v.pathway.key for v in versions for old in v.pathway.versions}


def _trend_reports(key: str, version, label: str, by: str) -> list[tuple[str, dict]]:
    """The metrics per week of the quarter, or per month or quarter of its year: (period, metrics)."""
    start, end = periods.quarter(label, _zone()) if by == "week" else \
        (periods.quarter(f"{label[:4]}-Q1", _zone())[0], periods.quarter(f"{label[:4]}-Q4", _zone())[1])
    today = now().astimezone(ZoneInfo(_zone())).date()
    spans = periods.buckets(start, min(end, max(periods.day_end(today, _zone()), start + timedelta(days=1))), by,
                            _zone())  # none ahead: the last ends with today
    found = metrics.table([a for _, a, _ in spans] + [spans[-1][2]], _pathway_of([version]),
                                {key: metrics.goals(version)})
    return [(first.isoformat(), found[(key, i)]) for i, (first, _, _) in enumerate(spans)]


def _trends(key: str, version, label: str, by: str) -> list[dict]:
    reports = _trend_reports(key, version, label, by)
    return [{"key": m, "points": [(name, r[m].value) for name, r in reports], "target": metrics.goals(version).get(m)}
            for m in TRENDS]


def _cells(metric) -> list:
    attained = metric.attainment
    return [metric.key, "" if metric.value is None else round(metric.value, 3), metric.basis,
            "" if metric.target is None else metric.target,
            "" if attained is None or attained == float("inf") else round(attained, 1), metric.light or ""]


def _csv(lines: list[list], filename: str) -> Response:
    """A table to download. A text cell a spreadsheet would run as a formula is written as text; the file's
    name is made of known parts only (a pathway key, a table's name, a quarter), nothing else."""
    access.disclose("metrics-csv", None)
    out = io.StringIO()
    csv.writer(out).writerows([[_as_text(cell) for cell in line] for line in lines])
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{safe}"'})


def _as_text(cell):
    """A text beginning like a formula (=, +, -, @, tab, CR) gets a leading apostrophe; numbers stay numbers."""
    return f"'{cell}" if isinstance(cell, str) and cell[:1] in FORMULA else cell
