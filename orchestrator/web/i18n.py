"""Languages: Finnish by default, Swedish and English complete; times in Europe/Helsinki."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, request, session

blp = Blueprint("lang", __name__)


def locale() -> str:
    chosen = session.get("lang")
    return chosen if chosen in current_app.config["POLKU_LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]


def local_path(target: str | None, default: str = "/") -> str:
    """Only a path on this site (never another host) is a place to go back to."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target \
            or any(ord(c) < 32 or ord(c) == 127 for c in target):  # CR/LF would break the Location header
        return default
    return target


@blp.route("/lang/<code>")
def choose(code: str):
    """Switch the language and go back to the page it was switched on."""
    if code in current_app.config["POLKU_LANGUAGES"]:
        session["lang"] = code
    return redirect(local_path(request.args.get("next")))
