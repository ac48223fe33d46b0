"""Polku: a BPMN-driven care-process orchestrator for digital care pathways."""

import os
import time
from pathlib import Path

import click
from flask import Flask, g, make_response, request

from . import extensions


def create_app(config_class: type | None = None) -> Flask:
    """Build the app for a config class; nothing happens at import time."""
    if config_class is None:
        from config import Config

        config_class = Config
    app = Flask(__name__, instance_relative_config=True, template_folder="web/templates",
                static_folder="web/static")
    app.config.from_object(config_class)
    if app.config["POLKU_ENV"] != "development":  # session cookies travel only over HTTPS there
        app.config["SESSION_COOKIE_SECURE"] = True
    if click.get_current_context(silent=True) is None:  # a WSGI server's app; `flask serve` checks for itself
        refuse_unsafe_settings(app)
    refuse_weak_service_tokens(app)
    _prepare_database_options(app)
    from . import monitoring

    monitoring.init(app)  # first: its request hooks time the others' too

    db = extensions.db
    db.init_app(app)
    extensions.migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    extensions.api.init_app(app)

    from . import cli, engine
    from .api import authenticate, check_input
    from .api import register as register_api
    from .clock import now
    from .core import database
    from .core.store import WorkflowStore

    engine.use_clock(now)
    engine.limits.configure(app.config)  # how long and how large pathway code may run
    with app.app_context():
        database.configure_engine(db.engine)
    app.extensions["polku_store"] = WorkflowStore(
        app.config["POLKU_ENGINE_CACHE_SIZE"], app.config["POLKU_VERIFY_STATE"]
    )
    register_api(app, extensions.api)
    from . import logs, reach, web
    from .metrics import rollups

    logs.init(app)
    web.init(app)
    reach.init(app)
    rollups.init(app)
    _answer_refusals(app)

    @app.before_request
    def start_clock() -> None:
        g.request_started = time.perf_counter()

    app.before_request(authenticate)
    app.before_request(check_input)
    cli.register(app)
    if app.config["POLKU_SCHEDULER"] == "always" and not _reloader_parent(app):
        from .core import scheduler

        scheduler.start(app)

    @app.after_request
    def server_timing(response):
        # Lets clients and operators tell server time from network and client time.
        started = g.get("request_started")
        if started is not None:
            response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        return response

    @app.teardown_request
    def end_failed_transaction(exc: BaseException | None) -> None:
        # A request that failed must not leave its transaction open for the next user of the session.
        if exc is not None:
            db.session.rollback()

    return app


DEFAULT_SECRET = "dev-only-change-me"


def refuse_unsafe_settings(app: Flask) -> None:
    """Outside development a service that signs people in needs a session secret of the operator's own.

    Commands that serve nobody (deploy, simulate, migrations) do not need one."""
    if app.config["POLKU_ENV"] != "development" and app.config["SECRET_KEY"] in (None, "", DEFAULT_SECRET):
        raise RuntimeError("POLKU_SECRET_KEY must be set to a long random value outside development "
                           "(or set POLKU_ENV=development to run with the test sign-in)")


MIN_TOKEN = 24  # characters: a service token is a password that never expires


def refuse_weak_service_tokens(app: Flask) -> None:
    """A service token gives a system the API's full reach: an empty or short one is refused at start-up."""
    for token, name in app.config["POLKU_SERVICE_TOKENS"].items():
        if not name.strip():
            raise RuntimeError("POLKU_SERVICE_TOKENS: every token needs the name of its system (name=token)")
        if len(token.strip()) < MIN_TOKEN:
            what = "empty" if not token.strip() else "too short"
            raise RuntimeError(f"POLKU_SERVICE_TOKENS: the token of '{name}' is {what}: give it at least {MIN_TOKEN} "
                               "random characters (python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")


def _answer_refusals(app: Flask) -> None:
    """One handler for every refusal: JSON under /api/, else the error page in the reader's language."""
    from . import api, web
    from .core.refusal import N_, Refused
    from .engine import PackageInvalid

    def refused(exc: Refused):
        response = api.refusal(exc) if request.path.startswith("/api/") else web.refusal(exc)
        if exc.status == 503:
            response = make_response(response)
            response.headers["Retry-After"] = "2"
        return response

    def package_invalid(exc: PackageInvalid):
        return refused(Refused(422, N_("the pathway package is not valid; problems found: %(n)s"),
                               [p.as_dict() for p in exc.problems], n=len(exc.problems)))

    app.register_error_handler(Refused, refused)
    app.register_error_handler(PackageInvalid, package_invalid)


def _reloader_parent(app: Flask) -> bool:
    """The development reloader's watcher process: the scheduler belongs in the child it restarts."""
    return app.debug and os.environ.get("WERKZEUG_RUN_MAIN") != "true"


def _prepare_database_options(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    # A server database may drop idle connections: test each one on checkout. A SQLite file cannot.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": not uri.startswith("sqlite"),
                                               **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
