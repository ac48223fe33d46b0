"""The diagram pages without a browser: who may open them, what they count and say, and that neither page nor
its JSON shows anything of a client's (client id, business key, answers, a person's name or login)."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from orchestrator.clock import CLOCK
from orchestrator.core import firing, positions
from orchestrator.extensions import db
from orchestrator.models import HumanTask, Instance, PathwayVersion

from .conftest import ANSWERS, DIAGRAM_START, VERSION_PAGE, Api, start_sample
from .helpers import open_task, text

pytestmark = pytest.mark.clock(DIAGRAM_START)
ANSWER = ANSWERS["esitietolomake"]["oireet"]


def english(web_as, person: str = "suunnittelija.laine"):
    web = web_as(person)
    web.get("/lang/en?next=/")
    return web


def cells(page: str, heading: str) -> list[list[str]]:
    """The rows of the table that the heading ``heading`` (its id) names, as cell texts without card labels."""
    table = re.search(rf'<table aria-labelledby="{heading}".*?</table>', page, re.S).group(0)
    return [[" ".join(re.sub(r"<[^>]+>", " ", re.sub(r'<span class="card-label">.*?</span>', "", cell)).split())
             for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]


def nodes(page: str) -> dict[str, list[str]]:
    """The node table's rows by node id."""
    return {row[1]: row for row in cells(page, "nodes-heading")}


def test_the_version_page_counts_who_stands_at_each_node_and_who_has_passed_it(app, standing, web_as):
    page = english(web_as).get(VERSION_PAGE)
    assert page.status_code == 200
    table = nodes(page.get_data(as_text=True))
    # name, id, now, passed
    assert table["start"][2:] == ["0", "5"]
    assert table["esitietolomake"][2:] == ["3", "2"]
    assert table["muistutus_esitiedot"][2:] == ["3", "0"]  # the reminder timer waits beside the questionnaire
    assert table["kiireellisyys_arvio"][2:] == ["0", "2"]
    assert table["hoitajan_arvio"][2:] == ["2", "0"]
    assert table["asiakas_kuittaa"][2:] == ["0", "0"]
    assert "Start" not in table and not any("." in node for node in table), "internal task specs are no nodes"
    assert "Active instances (5)" in text(page) and "This version has no scenarios." in text(page)


def test_the_figures_are_counted_in_one_grouped_query(app, standing, ctx):
    """One statement, however many nodes and instances: never a query per node or per instance."""
    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731 - the statement's text
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        version_id = db.session.scalar(select(PathwayVersion.id))
        statements.clear()
        counted = positions.counts(version_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert len(statements) == 1 and "GROUP BY" in statements[0]
    assert counted["esitietolomake"] == (3, 2) and counted["hoitajan_arvio"] == (2, 0)


def test_an_ended_instance_has_passed_its_nodes_but_stands_nowhere(app, standing, api, web_as):
    assert api.post(f"/api/v1/instances/{standing[4]}/cancel", {"reason": "testi"}).status_code == 200
    table = nodes(english(web_as).get(VERSION_PAGE).get_data(as_text=True))
    assert table["esitietolomake"][2:] == ["2", "2"] and table["start"][2:] == ["0", "5"]


def test_the_json_draws_the_process_file_with_count_badges(app, standing, web_as):
    data = english(web_as).get(VERSION_PAGE + "/diagram.json").json
    assert 'bpmn:process id="esitietopolku"' in data["xml"]
    assert data["badges"]["esitietolomake"] == [["now", "● 3"], ["passed", "✓ 2"]]
    assert data["badges"]["hoitajan_arvio"] == [["now", "● 2"]]
    assert "asiakas_kuittaa" not in data["badges"] and data["markers"] == {}


def test_the_active_instances_are_listed_a_page_at_a_time_with_where_they_stand(app, api, sample, clock, web_as):
    ids = start_sample(api, 27, 1)
    web = english(web_as)
    first = web.get(VERSION_PAGE).get_data(as_text=True)
    assert "Active instances (27)" in first and "Page 1 of 2" in first
    listed = re.findall(r'href="/admin/instances/(\d+)"', first)
    assert listed == [str(i) for i in ids[:25]]
    second = text(web.get(VERSION_PAGE + "?page=2"))
    assert re.findall(r'href="/admin/instances/(\d+)"', second) == [str(i) for i in ids[25:]]
    row = re.search(rf'instances/{ids[0]}".*?</tr>', first, re.S).group(0)
    assert "Arvioi esitiedot" in row and "Active" in row  # at the nurse's assessment
    row = re.search(rf'instances/{ids[1]}".*?</tr>', first, re.S).group(0)
    assert "Täytä esitietolomake" in row and "Muistutus 3 päivän kuluttua" in row


def test_what_the_scenarios_cover_is_shown_and_marked(app, standing, web_as):
    with app.app_context():
        version = db.session.scalar(select(PathwayVersion))
        version.coverage = {"scenarios": [{"name": "Ei laboratoriota", "file": "ei_labraa.json"}],
                            "nodes": {"all": ["start", "esitietolomake", "hoitajan_arvio", "tulosten_arvio"],
                                      "covered": ["start", "esitietolomake", "hoitajan_arvio"]},
                            "flows": {"all": ["flow_start", "flow_esitiedot", "flow_lab_kylla"],
                                      "covered": ["flow_start", "flow_esitiedot"]}}
        db.session.commit()
    web = english(web_as)
    page = text(web.get(VERSION_PAGE))
    assert "Scenarios cover 3 of 4 nodes (75%) and 2 of 3 flows (66%)" in page  # rounded down: 100 % is all
    assert "Ei laboratoriota" in page and "Flows no scenario takes: flow_lab_kylla" in page
    table = nodes(web.get(VERSION_PAGE).get_data(as_text=True))
    assert table["esitietolomake"][4] == "Yes" and table["tulosten_arvio"][4] == "No"
    assert table["loppu"][4] == "–", "a node the scenarios do not count"
    markers = web.get(VERSION_PAGE + "/diagram.json").json["markers"]
    assert markers == {node: ["covered"] for node in ("start", "esitietolomake", "hoitajan_arvio", "flow_start",
                                                      "flow_esitiedot")}


@pytest.fixture
def followed(app, sample, clock, client):
    """Aino's instance: started by a system, its reminder fired by the scheduler, her questionnaire answered by
    her, the assessment by Hanna of the care team."""
    app.config["POLKU_IDLE_MINUTES"] = 10 ** 7  # the clock moves days on
    instance = Api(client).start("esitieto", client_id="asiakas-123", business_key="asiakas-123:esitieto")
    with app.app_context():
        CLOCK.set(DIAGRAM_START + timedelta(days=3, minutes=1))
        firing.fire_due()
        db.session.rollback()
    assert Api(client, "asiakas-123").complete(instance["tasks"][0]["id"], ANSWERS["esitietolomake"]).status_code == 200
    with app.app_context():
        nurse_task = open_task(instance["id"], "hoitajan_arvio").id
    assert Api(client, "hoitaja.virtanen").complete(nurse_task, ANSWERS["hoitajan_arvio"]).status_code == 200
    return instance["id"]


def test_the_instance_page_gives_each_node_its_state_and_the_history_its_actors_kinds(app, followed, web_as):
    page = english(web_as).get(f"/admin/instances/{followed}").get_data(as_text=True)
    table = nodes(page)
    assert table["esitietolomake"][2] == "Done" and table["muistutus_esitiedot"][2] == "Done"
    assert table["asiakas_kuittaa"][2] == "Open" and table["tulosten_arvio"][2] == "–"
    assert [row[1:] for row in cells(page, "history-heading")] == [
        ["Started", "–", "Information system"],
        ["Timer fired", "Muistutus 3 päivän kuluttua muistutus_esitiedot", "Scheduler"],
        ["Task completed", "Täytä esitietolomake esitietolomake", "Client"],
        ["Task completed", "Arvioi esitiedot hoitajan_arvio", "Professional"]]


def test_the_instance_page_shows_the_waiting_timer_with_its_due_time_in_the_service_s_zone(app, standing, web_as):
    page = english(web_as).get(f"/admin/instances/{standing[-1]}").get_data(as_text=True)
    # Three days after Monday 1 March 2027, 10:00 in Helsinki.
    assert cells(page, "timers-heading") == [["Muistutus 3 päivän kuluttua (muistutus_esitiedot)", "After a time",
                                              "4 Mar 2027, 10:00"]]
    data = english(web_as).get(f"/admin/instances/{standing[-1]}/diagram.json").json
    assert data["markers"] == {"start": ["done"], "esitietolomake": ["open"], "muistutus_esitiedot": ["waiting"]}
    assert data["badges"]["muistutus_esitiedot"] == [["waiting", "Waiting until 4 Mar 2027, 10:00"]]
    assert data["badges"]["esitietolomake"] == [["open", "Open"]]


def test_an_incident_is_shown_with_its_message(app, standing, web_as):
    with app.app_context():
        db.session.get(Instance, standing[0]).status = "incident"
        db.session.get(Instance, standing[0]).incident = "kiireellisyys_arvio: no rule matched"
        db.session.commit()
    page = text(english(web_as).get(f"/admin/instances/{standing[0]}"))
    assert "Incident" in page and "kiireellisyys_arvio: no rule matched" in page
    assert "Active (being checked)" in page


def test_nothing_of_a_client_s_is_shown_in_the_pages_or_their_json(app, followed, standing, web_as):
    web = english(web_as, "yllapitaja.makinen")
    with app.app_context():
        answers = [ANSWER, ANSWERS["hoitajan_arvio"]["viesti_asiakkaalle"]]
        assert db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == followed))
    for url in (VERSION_PAGE, VERSION_PAGE + "/diagram.json", f"/admin/instances/{followed}",
                f"/admin/instances/{followed}/diagram.json", f"/admin/instances/{standing[0]}/diagram.json"):
        response = web.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, url
        for secret in ("asiakas-123", "asiakas-9", "avain-9", "Aino", "hoitaja.virtanen", "Hanna", *answers):
            assert secret not in body, f"{secret} in {url}"


PAGES = (VERSION_PAGE, VERSION_PAGE + "/diagram.json", "/admin/instances/{id}", "/admin/instances/{id}/diagram.json")


def test_clients_professionals_and_signed_out_users_cannot_open_them(app, standing, web_as, client):
    urls = [url.format(id=standing[0]) for url in PAGES]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"], url
    for person in ("asiakas-123", "hoitaja.virtanen"):
        web = web_as(person)
        for url in urls:
            assert web.get(url).status_code == 403, f"{person}: {url}"
    for person in ("suunnittelija.laine", "yllapitaja.makinen"):
        web = web_as(person)
        assert [web.get(url).status_code for url in urls] == [200] * 4, person


def test_a_version_or_instance_that_does_not_exist_is_not_found(app, standing, web_as):
    web = web_as("suunnittelija.laine")
    for url in ("/admin/pathways/esitieto/versions/2", "/admin/pathways/esitieto/versions/2/diagram.json",
                "/admin/pathways/eiole/versions/1", "/admin/instances/999999",
                "/admin/instances/999999/diagram.json"):
        assert web.get(url).status_code == 404, url


def test_the_pathway_list_links_each_version_to_its_diagram(app, standing, web_as):
    page = web_as("suunnittelija.laine").get("/admin/pathways").get_data(as_text=True)
    assert f'href="{VERSION_PAGE}"' in page


def test_only_the_two_diagram_pages_load_a_script(app, standing, web_as):
    web = web_as("suunnittelija.laine")
    for url in ("/admin/pathways", VERSION_PAGE, f"/admin/instances/{standing[0]}"):
        page = web.get(url).get_data(as_text=True)
        scripts = re.findall(r"<script[^>]*>", page)
        assert scripts == ([] if url == "/admin/pathways" else [
            '<script src="/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js" defer>',
            '<script src="/static/diagram.js" defer>']), url
