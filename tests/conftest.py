"""Fixtures: an app on a fresh database per test (SQLite file, or PostgreSQL when
POLKU_TEST_DATABASE_URL is set), a client that speaks JSON, and the sample pathway."""

import re
import shutil
from pathlib import Path

import flask
import pytest
from sqlalchemy import text

from config import TestConfig
from orchestrator import create_app
from orchestrator.extensions import db
from orchestrator.tools import deploy

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


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


@pytest.fixture
def app(tmp_path):
    app = create_app(_config(tmp_path))
    _reset(app)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


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
    """The sample pathway, deployed."""
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


class Web:
    """A browser stand-in for the server-rendered pages: signs in and posts forms with their CSRF token."""

    TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')

    def __init__(self, client):
        self.client, self.token = client, None

    def get(self, url, **kw):
        self._fresh_g()
        response = self.client.get(url, **kw)
        self._remember(response)
        return response

    def post(self, url, data=None, csrf=True, **kw):
        data = dict(data or {})
        if csrf:
            if self.token is None:
                self.get("/sign-in")
            data.setdefault("csrf_token", self.token)
        self._fresh_g()
        response = self.client.post(url, data=data, **kw)
        self._remember(response)
        return response

    @staticmethod
    def _fresh_g():
        """The test's app context outlives each request; Flask-WTF and Flask-Babel keep a request's token
        and language in ``g``."""
        flask.g.pop("csrf_token", None)
        flask.g.pop("_flask_babel", None)
        flask.g.pop("chart_images", None)

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
