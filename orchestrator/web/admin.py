"""Designer and administrator pages: deployed pathways, uploading a package, care teams and members, staff surveys."""

from datetime import UTC, datetime, timedelta

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..auth import demo, guard
from ..care import staff_surveys
from ..clock import now
from ..core import queries
from ..core.database import write
from ..engine import PackageInvalid
from ..extensions import db
from ..models import CareTeam, Person, new_client_id
from ..tools import deploy

blp = Blueprint("admin", __name__, url_prefix="/admin")


@blp.route("/pathways", methods=["GET", "POST"])
@guard.signed_in("designer", "admin")
def pathways():
    """Deployed pathways with their versions; a package upload shows its validation report here."""
    report, deployed, status = None, None, 200
    if request.method == "POST":
        report, deployed = _deploy_upload()
        status = 422 if report else 200
    return render_template("web/admin/pathways.html", pathways=queries.pathways(), report=report,
                           deployed=deployed, key=request.form.get("key", "")), status


def _deploy_upload():
    key = request.form.get("key", "").strip()
    uploads = [f for f in request.files.getlist("files") if f.filename]
    if not key or not uploads:
        return [{"file": "", "element": "", "line": None,
                 "reason": _("Give the pathway key and choose the package's files (or one zip).")}], None
    forms_dir = current_app.config["POLKU_FORMS_DIR"]
    try:
        if len(uploads) == 1 and uploads[0].filename.lower().endswith(".zip"):
            package = deploy.from_zip(uploads[0].read(), key, forms_dir)
        else:
            package = deploy.from_files({f.filename: f.read() for f in uploads}, key, forms_dir)
        return None, deploy.deploy([package], guard.actor())[0]
    except PackageInvalid as invalid:
        return [problem.as_dict() for problem in invalid.problems], None


@blp.route("/teams", methods=["GET", "POST"])
@guard.signed_in("admin")
def teams():
    """Care teams and who belongs to them; add a team, add or remove a member."""
    error, status = None, 200
    if request.method == "POST":
        with write():  # a change, or a reason why not (then nothing was changed)
            error = _change_teams()
        if error is None:
            return redirect(url_for("admin.teams"))
        status = 422
    found = list(db.session.scalars(select(CareTeam).order_by(CareTeam.key)))
    # Clients are not listed: that someone is a client is their data. A new colleague is found by identity code.
    people = [p for p in db.session.scalars(select(Person).order_by(Person.name)) if set(p.roles) - {"client"}]
    professionals = [p for p in people if "professional" in p.roles]
    return render_template("web/admin/teams.html", teams=found, professionals=professionals, people=people,
                           error=error), status


ROLES = ("client", "professional", "designer", "admin")


def _change_role(action: str) -> str | None:
    """Give or take a role: someone signs in first as a client; their work roles come from here."""
    code = request.form.get("identity_code", "").strip().upper()
    if code:  # someone who has signed in (as a client) and is to get a work role
        person = db.session.scalar(select(Person).where(Person.personal_identity_code == code))
    else:
        person = db.session.get(Person, request.form.get("person", type=int) or 0)
    role = request.form.get("role", "")
    if person is None or role not in ROLES:
        return _("Choose a person and a role.")
    if action == "revoke-role" and person.id == guard.user().person.id and role == "admin":
        return _("You cannot take your own administrator role.")
    roles = [r for r in person.roles if r != role]
    person.roles = [*roles, role] if action == "grant-role" else roles
    if role == "client" and person.client_id is None:  # instances name their client by this id
        person.client_id = new_client_id()
    return None


def _change_teams() -> str | None:
    action = request.form.get("action")
    if action in ("grant-role", "revoke-role"):
        return _change_role(action)
    if action == "add-team":
        key = request.form.get("key", "").strip()
        if not key:
            return _("Give the team's name as the pathways' lanes name it.")
        demo.team(key)
    else:
        team = db.session.get(CareTeam, request.form.get("team", type=int) or 0)
        person = db.session.get(Person, request.form.get("person", type=int) or 0)
        if team is None or person is None or action not in ("add-member", "remove-member"):
            return _("Choose a team and a person.")
        members = person.teams
        if action == "add-member" and team not in members:
            members.append(team)
        elif action == "remove-member" and team in members:
            members.remove(team)
    return None


@blp.route("/surveys", methods=["GET", "POST"])
@guard.signed_in("admin")
def surveys():
    """Send a care team the staff feedback survey (NPS), and see what the surveys sent gave."""
    error, status = None, 200
    if request.method == "POST":
        team = db.session.get(CareTeam, request.form.get("team", type=int) or 0)
        days = request.form.get("days", type=int)
        if team is None or days is None or not 1 <= days <= 90:
            error, status = _("Choose a team and how many days (1–90) the survey stays open."), 422
        else:
            staff_surveys.send(team, guard.actor(), days)
            return redirect(url_for("admin.surveys", sent=team.key))
    sent = staff_surveys.results(datetime(2000, 1, 1, tzinfo=UTC), now() + timedelta(days=1))
    return render_template("web/admin/surveys.html", teams=db.session.scalars(select(CareTeam).order_by(CareTeam.key)),
                           sent=sent, error=error), status
