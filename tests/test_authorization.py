"""Every page route (read from the URL map, so a new one cannot slip past) against every kind of user.

Aino (asiakas-123) is on the sample pathway, followed by the Hoitaja team. Only she, on her own pages,
and Hanna of that team, on the professional pages, may see her data; everybody else gets a sign-in
redirect, 403 (wrong role) or 404 (not theirs), and never a page that shows her name or answers.
"""

import pytest
from flask import url_for
from sqlalchemy import select

from orchestrator.extensions import db
from orchestrator.models import HumanTask

from .conftest import ANSWERS, Web

OWNER = "asiakas-123"
USERS = {"anonymous": None, "owner": OWNER, "other client": "asiakas-456", "team": "hoitaja.virtanen",
         "other team": "laakari.korhonen", "designer": "suunnittelija.laine", "admin": "yllapitaja.makinen"}
ROLE = {"owner": "client", "other client": "client", "team": "professional", "other team": "professional",
        "designer": "designer", "admin": "admin"}
SEES_OWNER = {"owner": "client", "team": "professional"}  # who may see Aino's data, in pages of which role
NAME, ANSWER = "Aino Asiakas", ANSWERS["esitietolomake"]["oireet"]
# Pages anyone may open: they show no client's data (checked below for every user).
PUBLIC = {"auth.home", "auth.sign_in", "auth.test_sign_in", "auth.oidc_start", "auth.oidc_callback",
          "auth.sign_out", "auth.accessibility", "lang.choose", "static"}
OBJECT_ARGS = {"instance_id", "task_id", "client_id"}


@pytest.fixture
def world(api, sample, app):
    instance = api.start("esitieto", business_key=f"{OWNER}:esitieto", client_id=OWNER)
    client_task = instance["tasks"][0]["id"]
    assert api.complete(client_task, ANSWERS["esitietolomake"]).status_code == 200
    nurse_task = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance["id"],
                                                              HumanTask.state == "open"))
    db.session.rollback()
    return {"instance_id": instance["id"], "client_tasks": [client_task], "nurse_tasks": [nurse_task]}


def page_rules(app):
    rules = [r for r in app.url_map.iter_rules() if not r.rule.startswith("/api/")]
    return sorted(rules, key=lambda r: r.rule)


def urls(app, rule, world) -> list[str]:
    """The rule's URL for each object of Aino's its arguments can name."""
    values = {"instance_id": [world["instance_id"]], "client_id": [OWNER], "code": ["sv"], "filename": ["polku.css"],
              "what": ["claim", "release", "assign"],
              "task_id": world["client_tasks"] if rule.rule.startswith("/me") else world["nurse_tasks"]}
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
        if rule.endpoint == "auth.sign_out":  # would end this user's session midway; tested on its own
            continue
        roles = getattr(app.view_functions[rule.endpoint], "polku_roles", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for url in urls(app, rule, world):
                response = web.get(url) if method == "GET" else web.post(url, {})
                check(who, rule, roles, response, f"{who}: {method} {url} -> {response.status_code}")
                response.close()
                checked += roles is not None
    assert checked >= 16, "every guarded page route was tried"


def check(who: str, rule, roles, response, where: str) -> None:
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
    elif OBJECT_ARGS & set(rule.arguments) and not may_see:
        assert response.status_code == 404, where
    else:
        assert response.status_code in (200, 302, 422), where


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
