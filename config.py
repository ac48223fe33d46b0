"""Configuration classes, read from environment variables (prefix ``POLKU_``)."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _env(name: str, default: str) -> str:
    return os.environ.get(f"POLKU_{name}", default)


class Config:
    """Defaults for running Polku; every value can be set from the environment."""

    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'polku.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SECRET_KEY = _env("SECRET_KEY", "dev-only-change-me")
    # Whole request body limit: a pathway package upload is the largest thing anyone sends.
    MAX_CONTENT_LENGTH = int(_env("MAX_UPLOAD_BYTES", str(10 * 1024 * 1024)))
    # Seconds a browser or proxy may reuse a static file (CSS, the diagram viewer) before asking again, when an
    # ETag answers 304. The files' addresses carry no version, so a release's styles show within this time.
    # Flask applies it to every send_file: a response with anyone's data sets its own max_age=0.
    SEND_FILE_MAX_AGE_DEFAULT = int(_env("STATIC_MAX_AGE", "3600"))
    POLKU_BPMN_DIR = Path(_env("BPMN_DIR", str(BASE_DIR / "bpmn")))
    POLKU_FORMS_DIR = Path(_env("FORMS_DIR", str(BASE_DIR / "forms")))
    # Live workflows kept in memory per server process, keyed by instance id and version.
    POLKU_ENGINE_CACHE_SIZE = int(_env("ENGINE_CACHE_SIZE", "512"))
    # Re-serialize the whole workflow after each step and compare with the stored rows (tests).
    POLKU_VERIFY_STATE = _env("VERIFY_STATE", "0") == "1"
    # Dates without a zone in timers are read in the pathway's zone (process property timeZone), else this.
    POLKU_TIME_ZONE = _env("TIME_ZONE", "Europe/Helsinki")
    # Who runs the timer scheduler: "serve" (the serve command), "always" (every app, for other WSGI
    # servers) or "off". Any number of processes may run one on the same database.
    POLKU_SCHEDULER = _env("SCHEDULER", "serve")
    # The scheduler also wakes at each timer's due time; the sweep catches timers other processes set.
    POLKU_TIMER_SWEEP_SECONDS = float(_env("TIMER_SWEEP_SECONDS", "2"))
    # Threads per process that fire a backlog of due timers together on PostgreSQL, each in its own
    # transaction (one waits on the database while another runs the engine). SQLite has one writer: 1.
    POLKU_TIMER_WORKERS = int(_env("TIMER_WORKERS", "4"))
    # Where notifications (reminders) go: "module:Class" of a notifier; the default writes to the log.
    POLKU_NOTIFIER = _env("NOTIFIER", "orchestrator.core.notify:LogNotifier")
    # How `flask serve` writes its log: "text" lines or "json" (one object a line); each with its request's id.
    POLKU_LOG_FORMAT = _env("LOG_FORMAT", "text")
    # Reaching clients outside Polku (orchestrator/reach/): the address links point to; e-mail over SMTP
    # (STARTTLS unless "0", with a login when a user is set); SMS through an HTTP gateway: its URL, method,
    # body (a template: {to}, {text}, {reference} become JSON strings), credential ("bearer:<token>" or
    # "basic:<user>:<password>") and the local hours no SMS is sent (what falls due then waits until their end).
    # An outbox row is tried at most POLKU_OUTBOX_ATTEMPTS times; a sender holds the rows it claimed (ten at a
    # time) for POLKU_OUTBOX_LEASE_SECONDS, after which another may take them (its sender died).
    POLKU_PUBLIC_URL = _env("PUBLIC_URL", "http://127.0.0.1:5000")
    POLKU_SMTP_HOST = _env("SMTP_HOST", "")
    POLKU_SMTP_PORT = int(_env("SMTP_PORT", "587"))
    POLKU_SMTP_STARTTLS = _env("SMTP_STARTTLS", "1") != "0"
    POLKU_SMTP_USER = _env("SMTP_USER", "")
    POLKU_SMTP_PASSWORD = _env("SMTP_PASSWORD", "")
    POLKU_MAIL_FROM = _env("MAIL_FROM", "Polku <polku@localhost>")
    POLKU_SMS_URL = _env("SMS_URL", "")
    POLKU_SMS_METHOD = _env("SMS_METHOD", "POST")
    POLKU_SMS_BODY = _env("SMS_BODY", '{{"to": {to}, "text": {text}, "reference": {reference}}}')
    POLKU_SMS_CREDENTIAL = _env("SMS_CREDENTIAL", "")
    POLKU_SMS_QUIET_HOURS = _env("SMS_QUIET_HOURS", "21:00-08:00")
    POLKU_OUTBOX_ATTEMPTS = int(_env("OUTBOX_ATTEMPTS", "8"))
    POLKU_OUTBOX_LEASE_SECONDS = float(_env("OUTBOX_LEASE_SECONDS", "150"))
    # Limits on pathway code (see orchestrator/engine/limits.py): seconds one script, condition, expression or
    # template may run; seconds and tasks the engine may spend on one request's step; memory one piece of
    # pathway code may take. Past one, the instance stops with an incident naming the element and the limit.
    POLKU_SCRIPT_SECONDS = float(_env("SCRIPT_SECONDS", "1"))
    POLKU_STEP_SECONDS = float(_env("STEP_SECONDS", "10"))
    POLKU_ENGINE_STEPS = int(_env("ENGINE_STEPS", "1000"))
    POLKU_SCRIPT_MEMORY_MB = int(_env("SCRIPT_MEMORY_MB", "256"))

    # Prometheus metrics at /prometheus (orchestrator/monitoring.py): open to requests from this host (loopback, not
    # through a proxy) and to a scraper that sends "Authorization: Bearer <token>" with this token (24+ characters).
    POLKU_PROMETHEUS_TOKEN = _env("PROMETHEUS_TOKEN", "")
    # The load balancer's address, when it ends TLS in front of `flask serve`: its X-Forwarded-For, -Proto, -Host
    # and -Port are believed from it alone (the client's address, https in the links Polku makes); empty: none.
    POLKU_TRUSTED_PROXY = _env("TRUSTED_PROXY", "")

    # "development" allows the test sign-in (a stand-in for strong authentication) and the X-Polku-Actor header;
    # the default, "production", never does, needs POLKU_SECRET_KEY set and sends cookies only over HTTPS.
    POLKU_ENV = _env("ENV", "production")
    # OpenID Connect sign-in (strong authentication through the identity provider). When the issuer is set,
    # the test sign-in is off.
    POLKU_OIDC_ISSUER = _env("OIDC_ISSUER", "")
    POLKU_OIDC_CLIENT_ID = _env("OIDC_CLIENT_ID", "")
    POLKU_OIDC_CLIENT_SECRET = _env("OIDC_CLIENT_SECRET", "")
    POLKU_OIDC_SCOPE = _env("OIDC_SCOPE", "openid profile")
    # The ID-token claim that carries a client's personal identity code (else the subject identifies them).
    POLKU_OIDC_IDENTITY_CLAIM = _env("OIDC_IDENTITY_CLAIM", "personal_identity_code")
    # Systems that call the API (the lab, the patient record system): "name=token,name2=token2". They send
    # "Authorization: Bearer <token>". In development a name in the X-Polku-Actor header stands in.
    POLKU_SERVICE_TOKENS = dict(reversed(pair.split("=", 1)) for pair in _env("SERVICE_TOKENS", "").split(",")
                                if "=" in pair)
    # A session ends after this many minutes without a request.
    POLKU_IDLE_MINUTES = int(_env("IDLE_MINUTES", "20"))
    SESSION_COOKIE_NAME = "polku_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = POLKU_ENV != "development"
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session it is bound to
    BABEL_DEFAULT_LOCALE = "fi"
    BABEL_DEFAULT_TIMEZONE = "Europe/Helsinki"
    POLKU_LANGUAGES = ("fi", "sv", "en")

    API_TITLE = "Polku API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"


class TestConfig(Config):
    """A fresh database per test; PostgreSQL when POLKU_TEST_DATABASE_URL is set."""

    TESTING = True
    POLKU_ENV = "development"
    SESSION_COOKIE_SECURE = False
    SQLALCHEMY_DATABASE_URI = os.environ.get("POLKU_TEST_DATABASE_URL", "sqlite://")
    POLKU_VERIFY_STATE = True
    POLKU_SCHEDULER = "off"
