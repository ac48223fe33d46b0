"""Every page route (read from the URL map, so a new one cannot slip past) against every kind of user.

Aino (asiakas-123) is on the sample pathway, followed by the Hoitaja team. Only she, on her own pages,
and Hanna of that team, on the professional pages, may see her data; everybody else gets a sign-in
redirect, 403 (wrong role) or 404 (not theirs), and never a page that shows her name or answers.
"""

import pytest
from flask import url_for
from sqlalchemy import func, select

from orchestrator.auth import demo
from orchestrator.care import enrolment, staff_surveys
from orchestrator.clock import now
from orchestrator.core.database import write
from orchestrator.extensions import db
from orchestrator.models import AccessLog, HumanTask, Notification

from .conftest import ANSWERS, Api, Web
from .helpers import deploy_kind

OWNER = "asiakas-123"
USERS = {"anonymous": None, "owner": OWNER, "other client": "asiakas-456", "team": "hoitaja.virtanen",
         "other team": "laakari.korhonen", "designer": "suunnittelija.laine", "admin": "yllapitaja.makinen"}
ROLE = {"owner": "client", "other client": "client", "team": "professional", "other team": "professional",
        "designer": "designer", "admin": "admin"}
SEES_OWNER = {"owner": "client", "team": "professional"}  # who may see Aino's data, in pages of which role
NAME, ANSWER = "Aino Asiakas", ANSWERS["esitietolomake"]["oireet"]
# Pages anyone may open: they show no client's data (checked below for every user). The Prometheus metrics (counts
# and route names) guard themselves: this host or the scrape token (tests/test_prometheus.py).
PUBLIC = {"auth.home", "auth.sign_in", "auth.test_sign_in", "auth.oidc_start", "auth.oidc_callback",
          "health.alive", "health.ready", "auth.sign_out", "auth.accessibility", "lang.choose", "static",
          "prometheus.scrape"}
OBJECT_ARGS = {"instance_id", "task_id", "client_id", "offer_id"}
# Opening a pathway for a client is for the teams that follow it: anyone else finds no such pathway.
FOLLOWED_BY_TEAM = {"opening.pathway"}
# Guarded pages that show no client's data: the self-care catalogue and its consent, opening a pathway.
SHOWS_NOBODY = {"client.catalogue", "consent.self_care", "opening.choose", "opening.pathway",
                "dashboards.overview", "dashboards.overview_csv", "dashboards.pathway", "dashboards.pathway_csv",
                "dashboards.quarters", "admin.surveys", "work.survey", "settings.work"}
# Metrics are aggregates: a professional sees those of their teams' pathways, nobody else's (404).
TEAMS_METRICS = {"dashboards.pathway", "dashboards.pathway_csv", "work.survey"}
# Routes to an object the world has none of (Aino keeps no diary there): not found, for her too.
NOT_IN_WORLD = {"client.diary_entry"}
# Designers and administrators open any instance's diagram (its opaque id, node states and history, nobody's data)
# and act on its incident by that id.
DIAGRAMS = {"diagrams.version", "diagrams.version_json", "diagrams.instance", "diagrams.instance_json", "console.act"}
OBJECT_ARGS_API = {"instance_id", "task_id", "notification_id", "offer_id"}
# Operators handle any instance's incident by its opaque id (the answer shows no client and no answers).
OPERATING_API = {f"operations.{name}" for name in ("retry", "skip", "suspend", "resume", "terminate")}
PUBLIC_API = {"/api/v1/openapi.json"}


@pytest.fixture
def world(api, sample, app):
    instance = api.start("esitieto", business_key=f"{OWNER}:esitieto", client_id=OWNER)
    client_task = instance["tasks"][0]["id"]
    assert api.complete(client_task, ANSWERS["esitietolomake"]).status_code == 200
    with app.app_context():
        nurse_task = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance["id"],
                                                                  HumanTask.state == "open"))
        db.session.rollback()
        other = deploy_kind("professional", key="toinen", consent=True)
        offer = enrolment.offer(other, OWNER, set(), "hoitaja.virtanen")  # opened, waiting for her consent
        deploy_kind("self-care", consent=True)  # in the catalogue, asking consent
        survey = staff_surveys.send(demo.team("Hoitaja"), "yllapitaja.makinen")  # for Hanna's team
        return {"instance_id": instance["id"], "client_tasks": [client_task], "nurse_tasks": [nurse_task],
                "offer_id": offer.id, "survey_id": survey.id}


def page_rules(app):
    rules = [r for r in app.url_map.iter_rules() if not r.rule.startswith("/api/")]
    return sorted(rules, key=lambda r: r.rule)


def urls(app, rule, world) -> list[str]:
    """The rule's URL for each object of Aino's its arguments can name."""
    values = {"instance_id": [world["instance_id"]], "client_id": [OWNER], "code": ["sv"], "filename": ["polku.css"],
              "what": ["claim", "release", "assign"], "offer_id": [world["offer_id"]],
              "survey_id": [world["survey_id"]], "entry_id": [1], "number": [1],
              "action": ["retry", "skip", "suspend", "resume", "terminate"],
              "key": ["omahoito"] if rule.rule.startswith("/me/") else ["esitieto"],
              "task_id": world["client_tasks"] if rule.rule.startswith("/me/") else world["nurse_tasks"]}
    combos = [{}]
    for arg in sorted(rule.arguments):
        combos = [{**c, arg: v} for c in combos for v in values[arg]]
    with app.test_request_context():
        return [url_for(rule.endpoint, **c) for c in combos]


def browser(app, user: str | None) -> Web:
    web = Web(app.test_client())
    return web.sign_in(user) if user else web


def test_every_page_route_is_guarded_or_known_to_be_public(app):
    for rule in page_rules(app):
        view = app.view_functions[rule.endpoint]
        assert hasattr(view, "polku_roles") or rule.endpoint in PUBLIC, f"{rule.rule} has no guard"


@pytest.mark.parametrize("who", list(USERS))
def test_no_route_leaks_a_clients_data(app, world, who):
    web = browser(app, USERS[who])
    checked = 0
    for rule in page_rules(app):
        # Signing out would end this user's session midway; readiness answers 503 on a database the tests built
        # without migrations. Each is tested on its own.
        if rule.endpoint in ("auth.sign_out", "health.ready"):
            continue
        roles = getattr(app.view_functions[rule.endpoint], "polku_roles", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for url in urls(app, rule, world):
                response = web.get(url) if method == "GET" else web.post(url, {})
                check(who, rule, roles, response, f"{who}: {method} {url} -> {response.status_code}", method)
                response.close()
                checked += roles is not None
    assert checked >= 16, "every guarded page route was tried"


def check(who: str, rule, roles, response, where: str, method: str) -> None:
    """What this user may get from this route, and that the page shows nothing of Aino's otherwise."""
    body = response.get_data(as_text=True)
    assert response.status_code < 500, where
    may_see = roles is not None and SEES_OWNER.get(who) in roles
    if not may_see:
        assert ANSWER not in body, f"leak: {where}"
        # The test sign-in lists the demo people by name; Aino sees her own name on every page.
        if who != "owner" and rule.endpoint not in ("auth.sign_in", "auth.test_sign_in"):
            assert NAME not in body, f"leak: {where}"
    if roles is None:
        return
    if who == "anonymous":
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"], where
    elif ROLE[who] not in roles:
        assert response.status_code == 403, where
    elif rule.endpoint in TEAMS_METRICS:
        assert response.status_code == (404 if who == "other team" else 200 if method == "GET" else 422), where
    elif (OBJECT_ARGS & set(rule.arguments) or rule.endpoint in FOLLOWED_BY_TEAM) and not may_see \
            and rule.endpoint not in DIAGRAMS or rule.endpoint in NOT_IN_WORLD:
        assert response.status_code == 404, where
    else:  # an action the role may take can still be refused for this object (ending a professional pathway)
        assert response.status_code in ((200, 302, 422) if method == "GET" else (200, 302, 403, 409, 422)), where


def test_a_post_without_its_csrf_token_is_refused(app, world):
    owner, nurse = browser(app, OWNER), browser(app, "hoitaja.virtanen")
    for rule in page_rules(app):
        if "POST" not in rule.methods:
            continue
        for url in urls(app, rule, world):
            for web in (owner, nurse):
                response = web.post(url, {}, csrf=False)
                response.close()
                assert response.status_code == 400, f"POST {url} without a CSRF token -> {response.status_code}"


# --------------------------------------------------------------------------- the API


def api_rules(app):
    return sorted((r for r in app.url_map.iter_rules() if r.rule.startswith("/api/") and r.rule not in PUBLIC_API),
                  key=lambda r: r.rule)


def api_urls(app, rule, world) -> list[str]:
    values = {"instance_id": [world["instance_id"]], "task_id": world["client_tasks"] + world["nurse_tasks"],
              "notification_id": [world["notification_id"]], "offer_id": [world["offer_id"]], "key": ["esitieto"],
              "number": [1], "subscription_id": [1]}
    combos = [{}]
    for arg in sorted(rule.arguments):
        combos = [{**c, arg: v} for c in combos for v in values[arg]]
    with app.test_request_context():
        return [url_for(rule.endpoint, **c) for c in combos]


@pytest.fixture
def notified(app, world):
    with app.app_context():
        note = Notification(instance_id=world["instance_id"], kind="reminder", audience="client", recipient=OWNER,
                            source="muistutus", text="Muistathan", created_at=now())
        db.session.add(note)
        db.session.commit()
        return {**world, "notification_id": note.id}


def test_every_api_route_needs_a_caller(app, notified):
    client = app.test_client()
    for rule in api_rules(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for url in api_urls(app, rule, notified):
                response = client.open(url, method=method, json={})
                assert response.status_code == 401, f"anonymous {method} {url} -> {response.status_code}"
                assert OWNER not in response.get_data(as_text=True)


@pytest.mark.parametrize("who", [w for w in USERS if w != "anonymous"])
def test_no_api_route_leaks_a_clients_data(app, notified, who):
    """Signed in with the session cookie, as a browser page's script would be (the CSRF header sent)."""
    web = browser(app, USERS[who])
    may_see = who in SEES_OWNER
    for rule in api_rules(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for url in api_urls(app, rule, notified):
                response = web.client.open(url, method=method, json={}, headers={"X-CSRFToken": web.token})
                body, where = response.get_data(as_text=True), f"{who}: {method} {url} -> {response.status_code}"
                assert response.status_code < 500, where
                if not may_see:
                    assert OWNER not in body and ANSWER not in body, f"leak: {where}"
                    if OBJECT_ARGS_API & set(rule.arguments) and rule.endpoint not in OPERATING_API:
                        assert response.status_code in (403, 404, 422), where


def test_a_cookie_signed_api_post_needs_the_csrf_header(app, notified):
    nurse = browser(app, "hoitaja.virtanen")
    task = notified["nurse_tasks"][0]
    refused = nurse.client.post(f"/api/v1/tasks/{task}/claim", json={})
    assert refused.status_code == 400
    taken = nurse.client.post(f"/api/v1/tasks/{task}/claim", json={}, headers={"X-CSRFToken": nurse.token})
    assert taken.status_code == 200 and taken.json["assignee"] == "hoitaja.virtanen"


# --------------------------------------------------------------------------- the access log


def owner_rows() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AccessLog).where(AccessLog.client_id == OWNER))


@pytest.mark.parametrize("who", list(SEES_OWNER))
def test_every_response_that_shows_a_clients_data_logs_it_exactly_once(app, notified, who, ctx):
    """Each GET of a page or API route: one access-log row for Aino when it shows her data, none otherwise."""
    web = browser(app, USERS[who])
    seen = 0
    for rule in page_rules(app) + api_rules(app):
        if "GET" not in rule.methods or rule.endpoint in ("auth.home", "auth.sign_in", "static"):
            continue
        roles = getattr(app.view_functions[rule.endpoint], "polku_roles", None)
        for url in (api_urls if rule.rule.startswith("/api/") else urls)(app, rule, notified):
            before = owner_rows()
            response = web.get(url)
            response.close()
            shows = shows_owner(rule, roles, who, response)
            assert owner_rows() - before == (1 if shows else 0), f"{who}: GET {url} -> {response.status_code}"
            seen += shows
    assert seen >= 5


def shows_owner(rule, roles, who: str, response) -> bool:
    """Whether this 200 response shows Aino's data: a page of her own or her team's, an API answer about
    her instance, task or notification, or a list with any of those in it (pathway documents and metrics
    show nobody's)."""
    if response.status_code != 200:
        return False
    if rule.rule == "/api/v1/me/channels":  # one's own channels: a client's data to herself alone
        return who == "owner"
    if rule.rule.startswith("/api/"):
        aggregates = rule.rule.startswith(("/api/v1/pathways", "/api/v1/metrics"))  # nobody's data
        return not aggregates and bool(response.json)
    return roles is not None and SEES_OWNER[who] in roles and rule.endpoint not in SHOWS_NOBODY


# --------------------------------------------------------------------------- acting on tasks


def test_only_the_holder_releases_or_completes_a_claimed_task(app, world, ctx):
    task = world["nurse_tasks"][0]
    hanna, noora = browser(app, "hoitaja.virtanen"), browser(app, "hoitaja.nieminen")
    assert hanna.post(f"/work/tasks/{task}/claim").status_code == 302
    assert noora.post(f"/work/tasks/{task}/release").status_code == 409
    assert noora.post(f"/work/tasks/{task}/assign", {"assignee": "hoitaja.nieminen"}).status_code == 409
    sent = noora.post(f"/work/tasks/{task}", {"action": "send", "laboratorio": "false", "viesti_asiakkaalle": "x"})
    assert sent.status_code == 409
    db.session.rollback()
    assert db.session.get(HumanTask, task).state == "open"
    from .conftest import Api

    noora_api, aino_api = Api(app.test_client(), "hoitaja.nieminen"), Api(app.test_client(), OWNER)
    assert noora_api.post(f"/api/v1/tasks/{task}/release", {}).status_code == 409
    assert noora_api.complete(task, {"laboratorio": False, "viesti_asiakkaalle": "x"}).status_code == 409
    assert aino_api.post(f"/api/v1/tasks/{world['client_tasks'][0]}/claim", {}).status_code == 403
    assert hanna.post(f"/work/tasks/{task}/release").status_code == 302


def test_a_task_goes_only_to_a_colleague_and_never_shows_outside_its_team(app, world):
    from .conftest import Api

    task = world["nurse_tasks"][0]
    hanna = Api(app.test_client(), "hoitaja.virtanen")
    refused = hanna.post(f"/api/v1/tasks/{task}/claim", {"assignee": "laakari.korhonen"})
    assert refused.status_code == 422
    service = Api(app.test_client(), "potilastietojarjestelma")  # a system may hand it to anyone
    assert service.post(f"/api/v1/tasks/{task}/claim", {"assignee": "laakari.korhonen"}).status_code == 200
    inbox = browser(app, "laakari.korhonen").get("/work").get_data(as_text=True)
    assert NAME not in inbox, "a task handed outside its team does not take the client with it"


def test_a_refused_step_writes_no_access_log_row(app, world, ctx):
    from .conftest import Api

    task = world["nurse_tasks"][0]
    Api(app.test_client(), "hoitaja.virtanen").post(f"/api/v1/tasks/{task}/claim", {})
    before = owner_rows()
    assert Api(app.test_client(), "hoitaja.nieminen").post(f"/api/v1/tasks/{task}/claim", {}).status_code == 409
    assert owner_rows() == before


def test_a_message_tells_nothing_of_instances_the_caller_may_not_see(app, world):
    from .conftest import Api

    lauri = Api(app.test_client(), "laakari.korhonen")
    theirs = lauri.post("/api/v1/messages", {"name": "lab_result_ready", "business_key": f"{OWNER}:esitieto"})
    nobodys = lauri.post("/api/v1/messages", {"name": "lab_result_ready", "business_key": "asiakas-999:esitieto"})
    assert theirs.status_code == nobodys.status_code == 404
    assert theirs.json["message"].replace(OWNER, "X") == nobodys.json["message"].replace("asiakas-999", "X")


def test_odd_page_input_is_a_clear_4xx(app, world):
    aino = browser(app, OWNER)
    assert aino.get("/me/pathways/99999999999999999999").status_code == 404
    assert aino.get("/me/tasks/a%00b").status_code == 400
    assert browser(app, "hoitaja.virtanen").get("/work?client=a%00b").status_code == 400


# --------------------------------------------------------------------------- self-care: nobody else, ever


@pytest.fixture
def self_care(app, notified, api):
    """Aino on a self-care pathway whose BPMN even has a nurse lane, with a nurse task open in it."""
    with app.app_context():
        deploy_kind("self-care")
    own = Api(app.test_client(), OWNER)
    started = own.post("/api/v1/instances", {"pathway": "omahoito", "client_id": OWNER}).json
    secret = "Omahoidon salainen vastaus"
    assert own.complete(started["tasks"][0]["id"], {**ANSWERS["esitietolomake"], "oireet": secret}).status_code == 200
    with app.app_context():
        tasks = [t.id for t in db.session.scalars(select(HumanTask).where(HumanTask.instance_id == started["id"]))]
        # A reminder addressed to the team of a lane, as a timer in a team-named lane once wrote it: no route
        # may show it to that team either (deploy now refuses such a pathway; the guard holds regardless).
        note = Notification(instance_id=started["id"], kind="reminder", audience="professional", recipient="Hoitaja",
                            source="muistutus", text=f"Asiakkaan vastaus: {secret}", created_at=now())
        with write():
            db.session.add(note)
    assert len(tasks) == 2
    return {**notified, "instance_id": started["id"], "client_tasks": tasks[:1], "nurse_tasks": tasks[1:],
            "secret": secret, "notification_id": note.id}


@pytest.mark.parametrize("who", ["team", "other team", "other client", "designer", "admin"])
def test_no_page_or_api_route_shows_a_self_care_pathway_to_anyone_but_its_client(app, self_care, who):
    web = browser(app, USERS[who])
    checked = 0
    for rule in page_rules(app) + api_rules(app):
        if rule.endpoint in ("auth.sign_out", "static", "health.ready"):
            continue
        api = rule.rule.startswith("/api/")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for url in (api_urls if api else urls)(app, rule, self_care):
                response = web.client.open(url, method=method, json={} if api else None,
                                           data=None if api else {"csrf_token": web.token},
                                           headers={"X-CSRFToken": web.token} if api else {})
                body, where = response.get_data(as_text=True), f"{who}: {method} {url} -> {response.status_code}"
                assert response.status_code < 500, where
                assert self_care["secret"] not in body, f"leak: {where}"
                assert f"/pathways/{self_care['instance_id']}" not in body or str(self_care["instance_id"]) in url, \
                    f"a link to it: {where}"
                for task in self_care["nurse_tasks"] + self_care["client_tasks"]:
                    assert task not in body or task in url, f"leak of a task id: {where}"
                objects = {"instance_id", "task_id", "notification_id"} & set(rule.arguments)
                if objects and rule.endpoint not in DIAGRAMS | OPERATING_API:
                    assert response.status_code in (302, 403, 404, 422) if not api else \
                        response.status_code in (403, 404, 422), where
                    checked += 1
    assert checked >= 11
    shown = select(func.count()).select_from(AccessLog).where(AccessLog.object_id == str(self_care["instance_id"]),
                                                              AccessLog.role != "client")
    with app.app_context():
        assert db.session.scalar(shown) == 0  # nobody else was ever shown it
