"""A professional opens a professional pathway for a client, found by personal identity code."""

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from stdnum.fi import hetu

from ..auth import access, guard
from ..care import enrolment
from ..core import queries
from ..models import Offer

blp = Blueprint("opening", __name__, url_prefix="/work/open")


def _openable() -> list:
    """The professional pathways one of my teams follows."""
    mine = guard.user().person.team_keys
    return [v for v in queries.latest_versions() if v.kind == "professional" and guard.pathway_teams(v.id) & mine]


@blp.route("")
@guard.signed_in("professional")
def choose():
    """The pathways I may open for a client."""
    return render_template("web/work/open.html", versions=_openable(), version=None)


@blp.route("/<key>", methods=["GET", "POST"])
@guard.signed_in("professional")
def pathway(key: str):
    """Open one pathway for a client: their personal identity code and the modules to switch on."""
    version = next((v for v in _openable() if v.pathway.key == key), None)
    if version is None:
        abort(404)
    modules = enrolment.modules(version)
    chosen = {n for n in modules if request.form.get(f"module-{n}")} if request.method == "POST" else set(modules)
    error, status, code = None, 200, request.form.get("identity_code", "").strip().upper()
    if request.method == "POST":
        if not hetu.is_valid(code, allow_temporary=True):
            error, status = _("Check the personal identity code: it should look like 010150-123A."), 422
        else:
            client_id = queries.client_by_identity_code(hetu.compact(code)).client_id
            access.record(client_id, "client", client_id, "care")
            opened = enrolment.open_for(version, client_id, chosen, guard.actor())
            waiting = "1" if isinstance(opened, Offer) else ""
            return redirect(url_for("work.client", client_id=client_id, opened=key, waiting=waiting))
    return render_template("web/work/open.html", versions=None, version=version, modules=modules, error=error,
                           code=code, chosen=chosen), status
