"""The professional's pages: the team inbox, a task with the client's context, a client's pathways."""

from datetime import timedelta

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import false
from stdnum.fi import hetu

from ..auth import access, guard
from ..care import enrolment, messaging, staff_surveys
from ..clock import now
from ..core import deliveries, queries, steps
from ..extensions import db
from ..models import Instance, StaffSurvey
from . import inbox_rows, timeline
from .i18n import local_path
from .task_form import Form

blp = Blueprint("work", __name__, url_prefix="/work")
DUE = {"overdue": None, "today": timedelta(days=1), "week": timedelta(days=7)}
NO_MATCH = "-"  # the client filter when an identity code is nobody's: matches no client id and is no name


@blp.route("")
@guard.signed_in("professional")
def inbox():
    """Tasks for my care teams, most urgent first, then late and soonest due, filtered, counted and paged in the
    database."""
    person = guard.user().person
    me, teams, at = guard.actor(), person.team_keys, now()
    chosen = {"pathway": request.args.get("pathway") or None, "client": request.args.get("client", "").strip() or None,
              "due": request.args.get("due") if request.args.get("due") in DUE else None,
              "mine": request.args.get("mine") == "1"}
    followed = guard.followed_versions(teams)
    every = queries.team_inbox(teams, followed)
    filters = _filters(chosen, me, at)
    counts = queries.inbox_tally(every, filters, me, at)
    total = counts.shown
    pages = max(1, -(-total // queries.INBOX_PAGE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    rows = queries.inbox_page(every + filters, counts, page)
    words = inbox_rows.Rows(at)
    shown = [words.row(r, me) for r in guard.tasks_seen(rows)]
    messages = [m for m in messaging.unanswered(teams)
                if guard.may_see_instance(db.session.get(Instance, m.instance_id))]
    people = queries.people_by_client([m.client_id for m in messages])
    html = render_template("web/work/inbox.html", rows=shown, chosen=chosen, counts=counts,
                           total=total, page=page, pages=pages, pathways=queries.pathway_names(followed),
                           people=people, me=me, messages=messages, surveys=staff_surveys.open_for(person))
    # Logged once the page is built and before it leaves: nobody is shown a client without a row for it.
    access.record_each({**{m.client_id: m.instance_id for m in messages},
                        **{row.client_id: row.instance_id for row in shown}}, "inbox", "care")
    return html


@blp.route("", methods=["POST"])
@guard.signed_in("professional")
def search():
    """The filter form, posted so that a personal identity code never stands in an address or a log: it
    comes back as the client's internal id (or as no match)."""
    args = {k: v for k in ("pathway", "client", "due", "mine") if (v := request.form.get(k, "").strip())}
    code = args.get("client", "").upper()
    if hetu.is_valid(code, allow_temporary=True):
        found = queries.client_id_by_code(hetu.compact(code))
        # Only a client whose pathway my teams follow: the address tells nothing of anyone else's code.
        mine = found and any(guard.may_see_instance(i) for i in queries.client_instances(found))
        args["client"] = found if mine else NO_MATCH
    return redirect(url_for("work.inbox", **args))


def _filters(chosen: dict, me: str, at) -> list:
    """The conditions of the filters chosen on the page."""
    c, found = queries.TASK_COLUMNS, []
    if chosen["pathway"]:
        found.append(c.pathway_key == chosen["pathway"])
    if chosen["client"] == NO_MATCH:
        found.append(false())
    elif chosen["client"]:
        found.append(queries.client_matches(chosen["client"]))
    if chosen["due"]:
        found.append(c.due_at < at + (DUE[chosen["due"]] or timedelta(0)))
    if chosen["mine"]:
        found.append(c.assignee == me)
    return found


@blp.route("/tasks/<task_id>", methods=["GET", "POST"])
@guard.signed_in("professional")
def task(task_id: str):
    """The task with the client's context: the pathway's timeline and earlier answers."""
    found = guard.task_for(task_id)
    instance = guard.instance_for(found.instance_id)
    access.record(instance.client_id, "task", found.id, "care")
    form = Form(found)
    context = {"instance": instance, "line": timeline.of(instance), "answers": timeline.answered(instance),
               "client": queries.people_by_client([instance.client_id]).get(instance.client_id),
               "colleagues": queries.team_members(guard.task_teams(found)), "me": guard.actor()}
    if found.state != "open":
        return render_template("web/task_done.html", task=found, answers=timeline.sent(found),
                               back=url_for("work.client", client_id=instance.client_id), form=form)
    if request.method == "POST" and form.post():
        return redirect(url_for("work.task", task_id=found.id, **{"done" if form.asks_nothing else "sent": 1}))
    return render_template("web/work/task.html", task=found, form=form, action=url_for("work.task", task_id=found.id),
                           drafts=True, delivered=deliveries.delivered(found), **context), form.status


@blp.route("/tasks/<task_id>/<any(claim, release, assign):what>", methods=["POST"])
@guard.signed_in("professional")
def assign(task_id: str, what: str):
    """Claim a task, put it back to the team, or give it to a colleague of the task's team."""
    found = guard.task_for(task_id)
    if what == "release":
        guard.may_act_on(found)
        steps.release(found.id)
    else:
        to = guard.actor() if what == "claim" else guard.colleague(found, request.form.get("assignee", ""))
        guard.may_act_on(found)
        steps.claim(found.id, to)
    return redirect(local_back(found.id))


def local_back(task_id: str) -> str:
    return local_path(request.form.get("next"), url_for("work.task", task_id=task_id))


@blp.route("/clients/<client_id>")
@guard.signed_in("professional")
def client(client_id: str):
    """A client's pathways that my teams follow, and those opened for them that wait for their consent."""
    instances = [i for i in queries.client_instances(client_id) if guard.may_see_instance(i)]
    teams = guard.user().person.team_keys
    offers = [o for o in enrolment.offers(client_id) if o.state != "accepted" and guard.pathway_teams(o.version_id)
              & teams]
    if not instances and not offers:
        abort(404)
    access.record(client_id, "client", client_id, "care")
    return render_template("web/work/client.html", instances=instances, client_id=client_id, offers=offers,
                           person=queries.people_by_client([client_id]).get(client_id))


@blp.route("/pathways/<int(max=2147483647):instance_id>")
@guard.signed_in("professional")
def pathway(instance_id: int):
    """One client's pathway as the team follows it: its timeline and the answers sent so far."""
    instance = guard.instance_for(instance_id)
    access.record(instance.client_id, "instance", instance.id, "care")
    return render_template("web/work/pathway.html", instance=instance, line=timeline.of(instance),
                           answers=timeline.answered(instance),
                           person=queries.people_by_client([instance.client_id]).get(instance.client_id))


@blp.route("/pathways/<int(max=2147483647):instance_id>/end", methods=["POST"])
@guard.signed_in("professional")
def end(instance_id: int):
    """The care team ends a professional pathway; it stays readable in the client's history."""
    instance = guard.instance_for(instance_id)
    access.record(instance.client_id, "instance", instance.id, "care")
    steps.cancel(instance.id, guard.actor(), "ended by the care team", kind="ended_by_team")
    return redirect(url_for("work.pathway", instance_id=instance.id, ended=1))


@blp.route("/surveys/<int(max=2147483647):survey_id>", methods=["GET", "POST"])
@guard.signed_in("professional")
def survey(survey_id: int):
    """The staff feedback survey of my team: one NPS answer, kept apart from my name."""
    found = db.session.get(StaffSurvey, survey_id)
    person = guard.user().person
    if found is None or found.team_id not in {t.id for t in person.teams}:
        abort(404)
    error, status = None, 200
    if request.method == "POST":
        value = request.form.get("value", type=int)
        if value is None or not 0 <= value <= 10:
            error, status = _("Choose a number from 0 to 10."), 422
        else:
            staff_surveys.answer(found, person, value)
            return redirect(url_for("work.inbox", answered=1))
    return render_template("web/work/survey.html", survey=found, error=error), status
