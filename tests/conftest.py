"""Fixtures, shaped like the Flask tutorial's: an app on a fresh database per test (SQLite file, or PostgreSQL
when POLKU_TEST_DATABASE_URL is set) that pushes no application context, so that each request gets its own as
in service; ``ctx`` for a test that reads the database or calls a service itself; clients that speak JSON or
post forms, the CLI runner, the stopped clock, the sample pathway and the metrics' known history."""

import contextvars
import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import flask
import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, text

from config import TestConfig
from orchestrator import create_app
from orchestrator.care import content, enrolment, messaging
from orchestrator.clock import CLOCK
from orchestrator.core import firing, steps
from orchestrator.extensions import db
from orchestrator.models import HumanTask, Instance, PathwayVersion
from orchestrator.tools import deploy

from .fixtures import metrics_pathway

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def pytest_configure(config):
    config.addinivalue_line("markers", "clock(at): the moment the clock fixture stops the clock at")


class Client(FlaskClient):
    """Each request in an application context of its own, as in service, even inside the test's: Flask would
    reuse the test's, and with it its ``g`` (Flask-WTF's token, Flask-Babel's language) and database session."""

    def open(self, *args, **kwargs):
        if self.preserve_context:  # ``with client:`` keeps the request's contexts for the test to look into
            return super().open(*args, **kwargs)
        if flask.has_app_context():
            db.session.rollback()  # the test's own transaction ends, so that it reads what the request writes
        return contextvars.Context().run(super().open, *args, **kwargs)


class Runner(FlaskCliRunner):
    """Each command in an application context of its own, as the ``flask`` command gives it: Polku's commands
    are registered without ``with_appcontext``."""

    def invoke(self, *args, **kwargs):
        with self.app.app_context():
            return super().invoke(*args, **kwargs)


def _config(tmp_path: Path) -> type:
    uri = TestConfig.SQLALCHEMY_DATABASE_URI
    if uri.startswith("sqlite"):
        uri = f"sqlite:///{tmp_path / 'polku.db'}"

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = uri
        POLKU_BPMN_DIR = ROOT / "bpmn"
        POLKU_FORMS_DIR = ROOT / "forms"

    return Config


def _reset(app) -> None:
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.create_all()


def make_app(config: type):
    """An app of ``config`` on its emptied database, whose test clients and CLI runners push their own contexts."""
    app = create_app(config)
    app.test_client_class, app.test_cli_runner_class = Client, Runner
    _reset(app)
    return app


def dispose(app) -> None:
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(tmp_path):
    """The app on a fresh database, no context pushed: each request and command gets its own, as in service."""
    app = make_app(_config(tmp_path))
    yield app
    dispose(app)


@pytest.fixture
def ctx(app):
    """An application context for the test's own reads and service calls. Its requests still get their own, and
    its transaction ends before each, so that it reads what they wrote."""
    with app.app_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def clock(request):
    """The clock stopped at the moment ``@pytest.mark.clock(at)`` gives (else now), back to the system's after."""
    marker = request.node.get_closest_marker("clock")
    CLOCK.set(marker.args[0] if marker else datetime.now(UTC))
    yield CLOCK
    CLOCK.release()


class Api:
    """JSON calls as a named actor; each returns the response."""

    def __init__(self, client, actor="tester"):
        self.client, self.actor = client, actor

    def _headers(self, extra):
        return {"X-Polku-Actor": self.actor, **(extra or {})}

    def get(self, url, **kw):
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url, json=None, **kw):
        return self.client.post(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def start(self, pathway="esitieto", **body):
        response = self.post("/api/v1/instances", {"pathway": pathway, **body})
        assert response.status_code == 201, response.json
        return response.json

    def complete(self, task_id, data, **kw):
        return self.post(f"/api/v1/tasks/{task_id}/complete", {"data": data}, **kw)


@pytest.fixture
def api(client):
    return Api(client)


@pytest.fixture
def sample(app):
    """The sample pathway, deployed without its consent page, so that a test starts it through the API at once
    (consent, and starting a pathway that asks it, have tests of their own: ``asking_consent``)."""
    from .helpers import sample_without_consent

    with app.app_context():
        return sample_without_consent()


@pytest.fixture
def asking_consent(app):
    """The sample pathway as it is in bpmn/: it starts once the client consents."""
    with app.app_context():
        return deploy.deploy(deploy.packages_in(ROOT / "bpmn" / "esitieto", ROOT / "forms"), "tester")[0]


@pytest.fixture
def package_dir(tmp_path):
    """A writable copy of the sample package and forms, to break in tests."""
    target = tmp_path / "pkg" / "esitieto"
    shutil.copytree(ROOT / "bpmn" / "esitieto", target)
    forms = tmp_path / "forms"
    shutil.copytree(ROOT / "forms", forms)
    return target, forms


ANSWERS = {
    "esitietolomake": {"oireet": "Yskä ja kuume", "kesto_paivia": 3, "kipu": 8},
    "hoitajan_arvio_lab": {"laboratorio": True, "viesti_asiakkaalle": "Käy laboratoriossa ennen vastaanottoa."},
    "hoitajan_arvio": {"laboratorio": False, "viesti_asiakkaalle": "Tervetuloa vastaanotolle."},
    "tulosten_arvio": {"yhteenveto": "Tulokset ovat viitealueella."},
    "asiakas_kuittaa": {"luettu": True, "palaute": 5},
}


# A fixture of instances at known nodes of the sample pathway, for the diagrams.
DIAGRAM_START = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)  # Monday 10:00 in Helsinki
VERSION_PAGE = "/admin/pathways/esitieto/versions/1"


def start_sample(api, n: int, answered: int) -> list[int]:
    """``n`` instances of the sample pathway, each a client's; the first ``answered`` past their first task."""
    ids = []
    for i in range(n):
        started = api.start("esitieto", client_id=f"asiakas-9{i:02}", business_key=f"avain-9{i:02}")
        ids.append(started["id"])
        if i < answered:
            assert api.complete(started["tasks"][0]["id"], ANSWERS["esitietolomake"]).status_code == 200
    return ids


@pytest.fixture
def standing(app, api, sample, clock):
    """Five instances: three at the client's questionnaire (its reminder timer waiting), two at the nurse's
    assessment. Ids in the order started (a test marks the clock ``DIAGRAM_START``)."""
    return start_sample(api, 5, 2)


class Web:
    """A browser stand-in for the server-rendered pages: signs in and posts forms with their CSRF token."""

    TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')

    def __init__(self, client):
        self.client, self.token = client, None

    def get(self, url, **kw):
        response = self.client.get(url, **kw)
        self._remember(response)
        return response

    def post(self, url, data=None, csrf=True, **kw):
        data = dict(data or {})
        if csrf:
            if self.token is None:
                self.get("/sign-in")
            data.setdefault("csrf_token", self.token)
        response = self.client.post(url, data=data, **kw)
        self._remember(response)
        return response

    def sign_in(self, person: str):
        self.token = None
        response = self.post("/sign-in/test", {"person": person})
        assert response.status_code == 302, response.data
        self.get(response.headers["Location"])
        return self

    def _remember(self, response):
        found = self.TOKEN.search(response.get_data(as_text=True)) if response.mimetype == "text/html" else None
        if found:
            self.token = found.group(1)


@pytest.fixture
def web(app):
    """Sign in as a demo person: ``web.sign_in("asiakas-123")``."""
    return Web(app.test_client())


@pytest.fixture
def web_as(app):
    """A fresh signed-in browser per call: ``web_as("hoitaja.virtanen")``."""
    return lambda person: Web(app.test_client()).sign_in(person)


# --------------------------------------------------------------------------- the metrics' known history

HISTORY_START = datetime(2027, 1, 4, 7, 0, tzinfo=UTC)  # Monday 4 January 2027, 09:00 in Helsinki
H = timedelta(hours=1)


def _fire_at(moment: datetime) -> None:
    CLOCK.set(moment)
    firing.fire_due()
    db.session.rollback()


def _answer(instance_id: int, spec: str, data: dict, by: str) -> None:
    db.session.rollback()
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.spec == spec,
                                                      HumanTask.state == "open")).one()
    steps.complete(task.id, data, by)


@pytest.fixture
def history(app, clock):
    """The metrics' known history (``make_history``)."""
    return make_history(app, clock)


def make_history(app, clock, after=lambda: None):
    """Four clients, A B C D, on the metrics pathway in the first quarter of 2027 (times in UTC); the pathway's
    version, with the clock stopped after the quarter:

    A: start questionnaire at once; the nurse reviews 24 h later; end questionnaire NPS 10, CES 6.
    B: start questionnaire on day 3, after the day-2 reminder; review 12 h later; NPS 8, CES 5.
    C: never answers (reminded on day 2) and withdraws consent on day 10.
    D: start questionnaire at once; review 6 h later; never answers the end questionnaire (still active).
    Messages: C on Friday 8 Jan 15:00 local, answered Mon 11 Jan 10:00 local (67 h, within the promise);
    D on Mon 11 Jan 10:00, answered Thu 14 Jan 08:00 (70 h, late: due Wed 13 Jan 16:00); D again on
    Thu 14 Jan 10:00, never answered (due Mon 18 Jan 16:00: broken). Content: A views a page 3 times, B twice.
    """
    start = HISTORY_START
    files = {"mittari.bpmn": metrics_pathway.BPMN.encode(),
             **{n: json.dumps(f).encode() for n, f in metrics_pathway.FORMS.items()}}
    with app.app_context():
        version = deploy.deploy([deploy.from_files(files, "mittari", ROOT / "forms")], "tester")[0].version
        clock.set(start)
        ids = {c: enrolment.join(version, f"asiakas-{c}", f"asiakas-{c}", None).id for c in "ABCD"}
        _answer(ids["A"], "alkukysely", {"oireet": 7}, "asiakas-A")
        after()
        _answer(ids["D"], "alkukysely", {"oireet": 9}, "asiakas-D")
        after()
        _fire_at(start + 6 * H)
        after()
        _answer(ids["D"], "arvio", {"arvio": "ok"}, "hoitaja.virtanen")
        after()
        _fire_at(start + 24 * H)
        after()
        _answer(ids["A"], "arvio", {"arvio": "ok"}, "hoitaja.virtanen")
        after()
        _fire_at(start + 2 * 24 * H)
        after()
        _answer(ids["A"], "loppukysely", {"oireet": 3, "suosittelu": 10, "helppous": 6}, "asiakas-A")
        after()
        _fire_at(start + 3 * 24 * H)  # the day-2 reminders to B and C have gone
        after()
        _answer(ids["B"], "alkukysely", {"oireet": 8}, "asiakas-B")
        after()
        _fire_at(start + 3 * 24 * H + 12 * H)
        after()
        _answer(ids["B"], "arvio", {"arvio": "ok"}, "hoitaja.virtanen")
        after()
        _answer(ids["B"], "loppukysely", {"oireet": 5, "suosittelu": 8, "helppous": 5}, "asiakas-B")
        after()
        for moment, who, sender in ((datetime(2027, 1, 8, 13, 0, tzinfo=UTC), "C", "client"),
                                    (datetime(2027, 1, 11, 8, 0, tzinfo=UTC), "C", "professional"),
                                    (datetime(2027, 1, 11, 8, 0, tzinfo=UTC), "D", "client"),
                                    (datetime(2027, 1, 14, 6, 0, tzinfo=UTC), "D", "professional"),
                                    (datetime(2027, 1, 14, 7, 0, tzinfo=UTC), "C", "withdraws"),
                                    (datetime(2027, 1, 14, 8, 0, tzinfo=UTC), "D", "client")):
            _fire_at(moment)
            after()
            instance = db.session.get(Instance, ids[who])
            if sender == "withdraws":
                enrolment.withdraw(instance, f"asiakas-{who}")
                after()
            elif sender == "client":
                messaging.send(instance, "client", f"asiakas-{who}", who, "Kysymys")
                after()
            else:
                messaging.send(instance, "professional", "hoitaja.virtanen", "Hanna", "Vastaus", {"Hoitaja"})
                after()
        for who, times in (("A", 3), ("B", 2)):
            for _ in range(times):
                content.count_view(db.session.get(Instance, ids[who]), "ohje.md", "client")
                after()
        db.session.rollback()
        version = db.session.get(PathwayVersion, version.id)  # loaded afresh, to be read after this context
    clock.set(datetime(2027, 5, 1, tzinfo=UTC))
    return version
