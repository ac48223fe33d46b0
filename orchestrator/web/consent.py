"""The client's consent: before a pathway starts (from the catalogue or a team's offer), and withdrawing it."""

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth import access, guard
from ..care import enrolment
from ..core import queries
from ..extensions import db
from ..models import Offer

blp = Blueprint("consent", __name__, url_prefix="/me")


@blp.route("/catalogue/<key>/consent", methods=["GET", "POST"])
@guard.signed_in("client")
def self_care(key: str):
    """A self-care pathway's consent text; giving consent starts the pathway, declining starts nothing."""
    version = next((v for v in queries.self_care_versions() if v.pathway.key == key), None)
    if version is None:
        abort(404)
    return _answer(version, None, url_for("consent.self_care", key=key))


@blp.route("/offers/<int(max=2147483647):offer_id>", methods=["GET", "POST"])
@guard.signed_in("client")
def offer(offer_id: int):
    """A pathway the care team opened for me: its consent text, and the modules chosen for me."""
    me = guard.user().person.client_id
    found = db.session.get(Offer, offer_id)
    if found is None or found.client_id != me:
        abort(404)
    access.record(me, "offer", found.id, access.purpose())
    if found.state != "pending":
        return redirect(url_for("client.pathway", instance_id=found.instance_id) if found.instance_id
                        else url_for("client.pathways"))
    return _answer(found.version, found, url_for("consent.offer", offer_id=found.id))


def _answer(version, offer: Offer | None, action: str):
    page, error, status = enrolment.consent_page(version), None, 200
    if request.method == "POST" and page is not None and request.form.get("text") != page.hash:
        # The answer is to the wording the client read: a newer one is shown to be read first.
        error, status = _("The consent text has changed since you opened this page. Please read it again."), 409
    elif request.method == "POST" and page is not None and request.form.get("answer") not in enrolment.ANSWERS:
        error, status = _("Choose whether you consent: press one of the two buttons."), 422
    elif request.method == "POST":
        me = guard.user().person.client_id
        started = enrolment.join(version, me, guard.actor(), request.form.get("answer"),
                                 offer.variables if offer else {}, offer)
        if started is None:
            return redirect(url_for("client.pathways", declined=1))
        return redirect(url_for("client.pathway", instance_id=started.id, started=1))
    if page is None:  # nothing to consent to: the catalogue's own button starts it
        abort(404)
    modules = enrolment.modules(version)
    chosen = {name for name, on in (offer.variables if offer else {}).items() if on}
    return render_template("web/client/consent.html", version=version, page=page, offer=offer, action=action,
                           error=error, modules=[(label, name in chosen) for name, label in modules.items()]
                           if offer else []), status


@blp.route("/pathways/<int(max=2147483647):instance_id>/withdraw", methods=["GET", "POST"])
@guard.signed_in("client")
def withdraw(instance_id: int):
    """Withdraw consent: the pathway ends and stays readable in my history."""
    instance = guard.instance_for(instance_id)
    access.record(instance.client_id, "instance", instance.id, access.purpose())
    if not instance.active:
        abort(409, description=_("This pathway has already ended."))
    if request.method == "POST":
        enrolment.withdraw(instance, guard.actor())
        return redirect(url_for("client.pathway", instance_id=instance.id, withdrawn=1))
    return render_template("web/client/withdraw.html", instance=instance)
