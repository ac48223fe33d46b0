"""The client's pages: my pathways and history, a pathway's timeline, my tasks and their forms."""

import json

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth import access, guard
from ..care import diaries, enrolment, fhir_export, observations
from ..clock import now
from ..core import notify, queries, steps
from ..engine.measurements import KINDS
from ..models import ACTIVE
from . import own_data, schema_form, task_pages, timeline
from .task_form import Form

blp = Blueprint("client", __name__, url_prefix="/me")


@blp.route("")
@guard.signed_in("client")
def pathways():
    """Omat polut: active pathways, open tasks, and ended pathways as history."""
    me = guard.user().person.client_id
    access.record(me, "pathway-list", me, access.purpose())
    instances = queries.client_instances(me)
    return render_template("web/client/pathways.html", tasks=queries.client_open_tasks(me),
                           offers=enrolment.pending_offers(me),
                           notifications=queries.notifications(audience="client", recipient=me, unread=True, limit=20),
                           active=[i for i in instances if i.status in ACTIVE],
                           ended=[i for i in instances if i.status not in ACTIVE],
                           versions={i.id: i.version for i in instances})


@blp.route("/pathways/<int(max=2147483647):instance_id>")
@guard.signed_in("client")
def pathway(instance_id: int):
    instance = guard.instance_for(instance_id)
    access.record(instance.client_id, "instance", instance.id, access.purpose())
    told = notify.unread_told(instance.client_id, instance.id) if request.args.get("measured") else []
    queries.mark_notifications_read("client", instance.client_id, instance.id)
    return render_template("web/client/pathway.html", line=timeline.of(instance), kinds=KINDS, errors={}, told=told)


@blp.route("/pathways/<int(max=2147483647):instance_id>/measurements", methods=["POST"])
@guard.signed_in("client")
def measure(instance_id: int):
    """Measurements the client enters freely, of the kinds the pathway names."""
    instance = guard.instance_for(instance_id)
    access.record(instance.client_id, "instance", instance.id, access.purpose())
    allowed = (instance.version.settings or {}).get("measurements") or []
    if instance.status not in ACTIVE or not allowed:
        abort(409, description=_("Measurements can be added only to an active pathway that asks for them."))
    values, errors = read_measurements(request.form, allowed)
    if not errors:
        at = now()
        observations.record(instance, values, at, guard.actor(), at)
        return redirect(url_for("client.pathway", instance_id=instance.id, measured=1) + "#new-measurement")
    return render_template("web/client/pathway.html", line=timeline.of(instance), kinds=KINDS, errors=errors), 422


def read_measurements(form, allowed: list[str]) -> tuple[dict[str, float], dict[str, str]]:
    """The values typed in, read and checked as a form of these kinds would be (a decimal comma is fine, and the
    unit after the number; whole numbers where the kind has no decimals; within the plausible range; a blood
    pressure with both readings); at least one. The errors are by kind."""
    answers, errors = schema_form.read(observations.free_form(allowed), form)
    if not answers and not errors:
        errors = {f"/{allowed[0]}": [_("Write at least one measurement.")]}
    return {key: float(value) for key, value in answers.items()}, \
        {key: " ".join(errors[f"/{key}"]) for key in allowed if f"/{key}" in errors}


@blp.route("/tasks/<task_id>", methods=["GET", "POST"])
@guard.signed_in("client")
def task(task_id: str):
    """The task's form; a completed task shows what was sent."""
    found = guard.task_for(task_id)
    instance = guard.instance_for(found.instance_id)
    access.record(instance.client_id, "task", found.id, access.purpose())
    page = task_pages.special(found, instance)
    if page is not None:
        return page
    form = Form(found)
    if found.state != "open":
        return render_template("web/task_done.html", task=found, answers=timeline.sent(found), told=notify.told(found),
                               back=url_for("client.pathway", instance_id=instance.id), form=form,
                               opened=form.opened())
    if request.method == "POST" and form.post():  # on to what the step opened for her (a test's result), if any
        after, said = form.opened_next() or found, "done" if form.asks_nothing else "sent"
        return redirect(url_for("client.task", task_id=after.id, **{said: 1}))
    return render_template("web/task_form.html", task=found, form=form, instance=instance,
                           action=url_for("client.task", task_id=found.id), drafts=True), form.status


@blp.route("/access-log")
@guard.signed_in("client")
def access_log():
    """Who else has viewed my data, newest first (my own views are not listed)."""
    person = guard.user().person
    access.record(person.client_id, "access-log", person.client_id, access.purpose())
    return render_template("web/client/access_log.html", rows=access.viewed_by_others(person.client_id, person.id))


@blp.route("/export")
@guard.signed_in("client")
def export():
    """All my pathways' data as a FHIR R4 Bundle (JSON) to download."""
    me = guard.user().person.client_id
    access.record(me, "export", me, access.purpose())
    access.disclose("fhir-bundle", me)
    body = json.dumps(fhir_export.bundle(me), ensure_ascii=False, indent=1)
    return Response(body, mimetype="application/fhir+json",
                    headers={"Content-Disposition": 'attachment; filename="polku-omat-tiedot.json"'})


@blp.route("/print")
@guard.signed_in("client")
def print_view():
    """All my pathways' data as a page to read and print: answers as the forms word them, measurements, messages."""
    me = guard.user().person.client_id
    access.record(me, "print", me, access.purpose())
    return render_template("web/client/print.html", records=own_data.of(me), kinds=KINDS)


@blp.route("/tasks/<task_id>/entries/<int(max=2147483647):entry_id>", methods=["GET", "POST"])
@guard.signed_in("client")
def diary_entry(task_id: str, entry_id: int):
    """Correct an entry I wrote, while the diary is open."""
    found = guard.task_for(task_id)
    instance = guard.instance_for(found.instance_id)
    entry = diaries.written_by(found, entry_id, guard.actor())
    if entry is None:
        abort(404)
    access.record(instance.client_id, "diary", found.id, access.purpose())
    if found.state != "open":
        abort(409, description=_("This diary has ended, so its entries can no longer be corrected."))
    form = Form(found)
    form.values = entry.data
    if request.method == "POST":
        answers, form.errors = schema_form.read(form.schema, request.form)
        if not form.errors:
            diaries.correct(entry, answers, guard.actor())
            return redirect(url_for("client.task", task_id=found.id, corrected=1))
        form.values = {**answers, "__raw__": request.form}
    return render_template("web/client/diary_entry.html", task=found, instance=instance, form=form,
                           entry=entry), form.status


@blp.route("/catalogue", methods=["GET", "POST"])
@guard.signed_in("client")
def catalogue():
    """Self-care pathways anyone may start for themselves, and start one."""
    if request.method == "POST":
        found = next((v for v in queries.self_care_versions() if v.pathway.key == request.form.get("pathway")), None)
        if found is None:
            abort(422, description=_("Choose a self-care pathway from the list."))
        if enrolment.consent_page(found) is not None:
            return redirect(url_for("consent.self_care", key=found.pathway.key))
        instance = enrolment.join(found, guard.user().person.client_id, guard.actor(), None)
        return redirect(url_for("client.pathway", instance_id=instance.id, started=1))
    return render_template("web/client/catalogue.html", versions=queries.self_care_versions())


@blp.route("/pathways/<int(max=2147483647):instance_id>/end", methods=["GET", "POST"])
@guard.signed_in("client")
def end(instance_id: int):
    """A client ends a self-care pathway whenever they like, once they have confirmed it; it stays readable in their
    history."""
    instance = guard.instance_for(instance_id)
    if request.method == "GET" and not (instance.active and instance.version.kind == "self-care"):
        return redirect(url_for("client.pathway", instance_id=instance.id))  # nothing the client can end here
    access.record(instance.client_id, "instance", instance.id, access.purpose())
    if instance.version.kind != "self-care":
        abort(403, description=_("A professional pathway is ended by its care team."))
    if request.method == "GET":
        return render_template("web/client/end.html", instance=instance)
    steps.cancel(instance.id, guard.actor(), "ended by the client")
    return redirect(url_for("client.pathway", instance_id=instance.id))
