"""Language of parts (WCAG 3.1.2): a pathway's own text carries its language on a page in another one, wherever it
is shown; the service's own words (measurement names, message notices) are in the reader's language; a pathway's
package says the language its texts are in."""

import re

import pytest

from orchestrator.care import enrolment, messaging
from orchestrator.core import queries
from orchestrator.extensions import db
from orchestrator.models import Instance
from orchestrator.tools import deploy

from .conftest import ANSWERS
from .helpers import deploy_all, package, text
from .test_web import nurse_task, start_for

FINNISH = re.compile(r"\b(Paino|Vyötärönympärys|Uusi viesti|polulla)\b")  # the service's own words in Finnish


def in_language(web, lang: str):
    """The person's pages in ``lang`` from now on, chosen as a person chooses it."""
    assert web.get(f"/lang/{lang}?next=/").status_code == 302
    return web


def after_header(page: str) -> str:
    """The page below its header (the language menu names each language in its own)."""
    return page.split("</header>", 1)[1]


@pytest.fixture
def weight_management(ctx):
    """Aino on the weight management pathway, which asks for measurements and has a care team to message."""
    deploy_all()
    return enrolment.join(queries.pathway_or_404("painonhallinta").latest, "asiakas-123", "asiakas-123", "given",
                          {"ruokapaivakirja": False, "liikuntapaivakirja": False})


def test_the_nurse_s_task_page_marks_the_pathway_s_text_and_names_a_client_not_signed_in(api, sample, web_as, ctx):
    instance = start_for(api, "asiakas-901")
    api.complete(instance["tasks"][0]["id"], ANSWERS["esitietolomake"])
    task = nurse_task(instance["id"])
    hanna = web_as("hoitaja.virtanen")
    for lang in ("sv", "en"):
        page = text(in_language(hanna, lang).get(f"/work/tasks/{task.id}"))
        assert f'<h1 lang="fi">{task.title}</h1>' in page
        assert '<div class="instructions" lang="fi">' in page
        assert re.search(r'<legend><span lang="fi">[^<]+</span>', page), "the form's questions"
        assert '<p class="hint" id="f-laboratorio-help" lang="fi">' in page, "and its hints"
        assert re.search(r'<label for="f-laboratorio">[^<]+</label>', page), "a yes-or-no in the reader's words"
        assert '<span lang="fi">Esitiedot ennen vastaanottoa</span> ·' in page, "the pathway's name"
        assert '<dt lang="fi">Mitä oireita sinulla on?</dt>' in page, "the earlier answers' questions"
    english = text(hanna.get(f"/work/tasks/{task.id}"))
    assert re.search(r'<h2 id="client-heading">Client: <a href="/work/clients/asiakas-901">'
                     r'Not signed in yet \(asiakas-901\)</a></h2>', english)
    finnish = after_header(text(in_language(hanna, "fi").get(f"/work/tasks/{task.id}")))
    assert ' lang="' not in finnish and f"<h1>{task.title}</h1>" in finnish
    assert "(asiakas-901)</a></h2>" in finnish and "<a href=\"/work/clients/asiakas-901\"></a>" not in finnish


def test_the_client_s_pathway_and_sent_pages_mark_the_pathway_s_text(api, sample, web_as, ctx):
    instance = start_for(api)
    aino = in_language(web_as("asiakas-123"), "sv")
    task_id = instance["tasks"][0]["id"]
    form = text(aino.get(f"/me/tasks/{task_id}"))
    assert re.search(r'<label for="f-oireet"><span lang="fi">Mitä oireita sinulla on\?</span>', form)
    sent = aino.post(f"/me/tasks/{task_id}", {"action": "send", "key": "k1", **{
        k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in ANSWERS["esitietolomake"].items()}})
    assert sent.status_code == 302, text(sent)
    page = text(aino.get(sent.headers["Location"]))
    assert re.search(r'<h1 lang="fi">[^<]+</h1>', page)
    assert '<dt lang="fi">Mitä oireita sinulla on?</dt>' in page
    pathway = text(aino.get(f"/me/pathways/{instance['id']}"))
    assert '<h1 lang="fi">Esitiedot ennen vastaanottoa</h1>' in pathway
    assert re.search(rf'href="/me/tasks/{task_id}" lang="fi">[^<]+</a>', pathway), "the timeline's task"


def test_measurement_names_are_in_the_reader_s_language(weight_management, web_as):
    aino = web_as("asiakas-123")
    english = text(in_language(aino, "en").get(f"/me/pathways/{weight_management.id}"))
    assert '<label for="measure-weight">Weight</label>' in english
    assert '<label for="measure-waist">Waist circumference</label>' in english
    swedish = after_header(text(in_language(aino, "sv").get(f"/me/pathways/{weight_management.id}")))
    assert re.search(r'<label for="measure-weight">[^<]+</label>', swedish)
    assert not FINNISH.search(swedish)
    assert aino.post(f"/me/pathways/{weight_management.id}/measurements", {"weight": "400"}).status_code == 422
    assert not FINNISH.search(after_header(text(aino.get("/me/print"))))


def test_a_message_notice_is_in_the_reader_s_language_with_the_pathway_s_name_in_its_own(weight_management,
                                                                                        web_as):
    messaging.send(db.session.get(Instance, weight_management.id), "professional", "hoitaja.virtanen",
                   "Hanna Virtanen", "Hei Aino!", {"Hoitaja"})
    aino = web_as("asiakas-123")
    english = text(in_language(aino, "en").get("/me"))
    assert ('<span>New message from the care team on the pathway <span lang="fi">Painonhallinta</span>.</span>'
            in english)
    swedish = after_header(text(in_language(aino, "sv").get("/me")))
    assert '<span lang="fi">Painonhallinta</span>.</span>' in swedish
    assert not FINNISH.search(swedish)


def test_a_pathway_written_in_swedish_is_marked_on_finnish_pages_and_not_on_swedish_ones(api, web_as, ctx):
    deploy.deploy([package('<spiffworkflow:property name="language" value="sv" />', consent=False)], "tester")
    instance = api.start("asetukset", business_key="asiakas-123:asetukset", client_id="asiakas-123")
    aino = web_as("asiakas-123")
    finnish = text(in_language(aino, "fi").get(f"/me/pathways/{instance['id']}"))
    assert re.search(r'<h1 lang="sv">[^<]+</h1>', finnish)
    task_form = text(aino.get(f"/me/tasks/{instance['tasks'][0]['id']}"))
    assert re.search(r'<h1 lang="sv">[^<]+</h1>', task_form)
    swedish = after_header(text(in_language(aino, "sv").get(f"/me/pathways/{instance['id']}")))
    assert re.search(r"<h1>[^<]+</h1>", swedish) and ' lang="' not in swedish
    english = text(in_language(aino, "en").get(f"/me/pathways/{instance['id']}"))
    assert re.search(r'<h1 lang="sv">[^<]+</h1>', english)
