"""Operating pathways in the browser: the incidents list with its actions and the outbox's state, and moving a
version's instances.

For designers and administrators. Instances are shown by their opaque id only: no client, no answers.
"""

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..auth import guard
from ..core import incidents, migrating, outbox, steps
from ..core.refusal import Refused
from ..extensions import db
from ..models import Pathway

blp = Blueprint("console", __name__, url_prefix="/admin")
PAGE = 25


@blp.route("/incidents")
@guard.signed_in("designer", "admin")
def incidents_page():
    """The instances standing on an incident or suspended, latest first, each with what can be done."""
    pathway = request.args.get("pathway") or None
    page = max(request.args.get("page", 1, type=int), 1)
    found, total = incidents.incidents(pathway, (page - 1) * PAGE, PAGE)
    keys = list(db.session.scalars(select(Pathway.key).order_by(Pathway.key)))
    return render_template("web/admin/incidents.html", incidents=found, total=total, page=page,
                           pages=max(-(-total // PAGE), 1), pathway=pathway, keys=keys,
                           done=request.args.get("done"), outbox=outbox.state(), dead=outbox.dead())


@blp.route("/instances/<int:instance_id>/<any(retry, skip, suspend, resume, terminate):action>", methods=["POST"])
@guard.signed_in("designer", "admin")
def act(instance_id: int, action: str):
    """One action on an instance; back to the list (or the instance's page), which says what was done."""
    reason = (request.form.get("reason") or "").strip() or None
    if action in ("retry", "skip"):
        steps.handle_incident(instance_id, guard.actor(), action, reason)
    elif action == "suspend":
        steps.suspend(instance_id, guard.actor(), reason)
    elif action == "resume":
        steps.resume(instance_id, guard.actor())
    else:
        steps.cancel(instance_id, guard.actor(), reason)
    if request.form.get("back") == "instance":
        return redirect(url_for("diagrams.instance", instance_id=instance_id, done=f"{action}:{instance_id}"))
    return redirect(url_for("console.incidents_page", pathway=request.form.get("pathway") or None,
                            done=f"{action}:{instance_id}"))


@blp.route("/pathways/<key>/move", methods=["GET", "POST"])
@guard.signed_in("designer", "admin")
def move(key: str):
    """Move a version's active instances to another version: what changes between the two, a dry run per
    instance, then the move."""
    pathway = db.session.scalar(select(Pathway).where(Pathway.key == key)) or abort(404)
    numbers = [v.number for v in pathway.versions]
    source = _chosen(pathway, "from", numbers[0] if len(numbers) > 1 else None)
    target = _chosen(pathway, "to", numbers[-1])
    report, error, moved = None, None, request.method == "POST"
    if source is not None and target is not None and source.id != target.id:
        try:
            report = migrating.run(source, target, guard.actor(), dry_run=not moved)
        except Refused as refused:
            error = refused.translated(_)
    changes = migrating.differences(source, target) if report is not None else None
    return render_template("web/admin/move.html", pathway=pathway, source=source, target=target, report=report,
                           changes=changes, moved=moved, error=error)


def _chosen(pathway: Pathway, name: str, default: int | None):
    number = request.values.get(name, type=int) or default
    return next((v for v in pathway.versions if v.number == number), None)
