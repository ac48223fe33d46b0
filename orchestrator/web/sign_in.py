"""Sign-in (OpenID Connect, or the test sign-in in development), sign-out and the home page by role."""

from authlib.integrations.base_client import OAuthError
from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from joserfc.errors import JoseError

from ..auth import demo, guard, oidc, sessions
from ..core.database import write
from .i18n import local_path

blp = Blueprint("auth", __name__)
HOME = {"client": "client.pathways", "professional": "work.inbox", "designer": "admin.pathways",
        "admin": "admin.teams"}
ROLE_ORDER = ("professional", "designer", "admin", "client")  # the role a person with several signs in as


@blp.route("/")
def home():
    user = sessions.current()
    if user is None:
        return redirect(url_for("auth.sign_in"))
    return redirect(url_for(HOME[user.role]))


@blp.route("/sign-in")
def sign_in():
    """The sign-in page: strong authentication, or in development the test sign-in."""
    next_page = local_path(request.args.get("next"), "")
    if oidc.configured():
        return render_template("web/sign_in.html", oidc=True, next_page=next_page)
    if not demo.dev_sign_in_allowed():
        abort(503, description=_("Sign-in is not configured."))
    demo.ensure_all()
    return render_template("web/sign_in.html", oidc=False, people=demo.DEMO_PEOPLE, next_page=next_page)


@blp.route("/sign-in/test", methods=["POST"])
def test_sign_in():
    if not demo.dev_sign_in_allowed():
        abort(404)
    chosen = demo.BY_KEY.get(request.form.get("person", ""))
    if chosen is None:
        return render_template("web/sign_in.html", oidc=False, people=demo.DEMO_PEOPLE,
                               next_page=local_path(request.form.get("next"), ""),
                               error=_("Choose the person to sign in as.")), 422
    user = sessions.begin(demo.person_for(chosen), chosen.role, "test")
    return redirect(local_path(request.form.get("next"), url_for(HOME[user.role])))


@blp.route("/sign-in/oidc", methods=["POST"])
def oidc_start():
    if not oidc.configured():
        abort(404)
    next_page = local_path(request.form.get("next"), "")
    response = oidc.client().authorize_redirect(url_for("auth.oidc_callback", _external=True))
    session["after_sign_in"] = next_page  # sign-in starts a new session: this is carried over by hand
    return response


@blp.route("/sign-in/callback")
def oidc_callback():
    if not oidc.configured():
        abort(404)
    try:
        claims = oidc.signed_in_claims()
    except (OAuthError, JoseError, KeyError, ValueError) as exc:
        current_app.logger.warning("OpenID Connect sign-in refused: %s", exc)
        return render_template("web/sign_in.html", oidc=True, next_page="",
                               error=_("Sign-in failed. Please try again.")), 401
    person = oidc.person_from(claims)
    role = next((r for r in ROLE_ORDER if r in person.roles), None)
    if role is None:
        abort(403, description=_("Your account has no role in this service. Ask an administrator."))
    after = local_path(session.pop("after_sign_in", ""), "")
    user = sessions.begin(person, role, "oidc")
    return redirect(after or url_for(HOME[user.role]))


@blp.route("/sign-out", methods=["POST"])
def sign_out():
    sessions.end()
    return redirect(url_for("auth.sign_in", signed_out=1))


@blp.route("/accessibility")
def accessibility():
    return render_template("web/accessibility.html")


@blp.route("/role", methods=["POST"])
@guard.signed_in(*ROLE_ORDER)
def change_role():
    """Someone with several roles (a nurse who is also a client) chooses which one they act in now."""
    user = sessions.current()
    role = request.form.get("role", "")
    if role not in user.person.roles:
        abort(422, description=_("Choose one of your roles."))
    with write():
        user.role = role
    return redirect(url_for(HOME[role]))
