"""What each metric means, at its edges: a target where less is better, the periods shown, the lights before a
pathway existed, a wrong target, content by its title and a view per person a day, and what the response
rate counts. On the known history of the metrics tests (the clock stopped at 1 May 2027)."""

from datetime import UTC, datetime, timedelta

from orchestrator import metrics
from orchestrator.extensions import db
from orchestrator.metrics import rollups
from orchestrator.metrics.report import Scope
from orchestrator.models import ContentView, HumanTask, Instance, PathwayVersion

from .helpers import text

Q1 = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC))


def test_less_is_better_is_target_over_value_and_shown_capped(history, web_as):
    reply = metrics.Metric("reply_median_hours", 24.0, 3, 48.0)
    assert reply.attainment == 200.0 and reply.light == "green" and reply.shown_attainment == (200, False)
    quick = metrics.Metric("reply_median_hours", 0.01, 1, 48.0)  # 480,000 % of the target
    assert quick.light == "green" and quick.shown_attainment == (200, True)
    assert metrics.Metric("reply_median_hours", 0, 1, 48.0).shown_attainment == (200, True)
    assert metrics.Metric("response_rate", 84.99, 10, 100.0).shown_attainment == (84, False)  # red, never "85"
    assert metrics.Metric("response_rate", 99.95, 10, 100.0).shown_attainment == (99, False)  # yellow
    admin = web_as("yllapitaja.makinen")
    admin.post("/metrics/mittari/goals", {"metric": "reply_median_hours", "value": "10000", "quarter": "2027-Q1"})
    page = text(admin.get("/metrics/mittari?quarter=2027-Q1"))
    row = page[page.index("Vastausaika, mediaani"):page.index("</tr>", page.index("Vastausaika, mediaani"))]
    assert "68,5 h" in row and "&gt;200 %" in row and "light--green" in row and "14" not in row  # not 14 599 %


def test_the_value_and_the_share_of_the_target_are_apart(history, web_as):
    page = text(web_as("yllapitaja.makinen").get("/metrics?quarter=2027-Q1"))
    assert '<td>33,3 % · 83 % tavoitteesta <span class="light light--red">' in page


def test_no_period_after_now(history, web_as):
    page = text(web_as("suunnittelija.laine").get("/metrics/mittari?quarter=2027-Q2&by=week"))
    assert "<td>2027-04-26</td>" in page and "<td>2027-05-03</td>" not in page  # the week of 1 May is the last
    months = text(web_as("suunnittelija.laine").get("/metrics/mittari?quarter=2027-Q1&by=month"))
    assert "<td>2027-05-01</td>" in months and "<td>2027-06-01</td>" not in months
    picker = text(web_as("suunnittelija.laine").get("/metrics?quarter=2027-Q1"))
    assert 'value="2027-Q2"' in picker and 'value="2027-Q3"' not in picker


def test_no_light_before_the_pathway_s_first_version(history, ctx):
    db.session.get(PathwayVersion, history.id).deployed_at = datetime(2027, 1, 2, tzinfo=UTC)
    db.session.commit()
    edges = [datetime(2026, 10, 1, tzinfo=UTC), *Q1]
    rollups.rebuild()  # counted from the rows as they are now
    found = metrics.table(edges, {history.id: "mittari"}, {"mittari": {"within_promise": 40}})
    before, after = found[("mittari", 0)]["within_promise"], found[("mittari", 1)]["within_promise"]
    assert before.target is None and before.light is None
    assert after.target == 40 and after.light == "red"


def test_a_wrong_target_is_named_beside_its_field_on_the_same_page(history, web_as):
    admin = web_as("yllapitaja.makinen")
    wrong = admin.post("/metrics/mittari/goals", {"metric": "within_promise", "value": "-5", "quarter": "2027-Q1"})
    page = text(wrong)
    assert wrong.status_code == 422 and "Vastausaika, mediaani" in page  # the pathway's page, not an error page
    assert 'id="goal-value-error"' in page and 'aria-invalid="true"' in page and 'value="-5"' in page
    assert '<option value="within_promise" selected>' in page
    unknown = text(admin.post("/metrics/mittari/goals", {"metric": "kahvi", "value": "5", "quarter": "2027-Q1"}))
    assert 'id="goal-metric-error"' in unknown


def test_content_is_listed_by_its_title_and_a_view_counts_once_per_person_page_and_day(history, ctx):
    version = db.session.get(PathwayVersion, history.id)
    version.content = {"ohje.md": "Johdanto\n\n## Näin mittaat verenpaineen\n\nTeksti."}
    a = db.session.query(Instance).filter_by(client_id="asiakas-A").one()
    later = datetime(2027, 1, 14, 21, 59, tzinfo=UTC)  # 23:59 in Helsinki: still 14 January there
    next_day = datetime(2027, 1, 14, 22, 1, tzinfo=UTC)  # 00:01 on 15 January in Helsinki
    db.session.add_all([ContentView(instance_id=a.id, pathway_key="mittari", page="ohje.md", role="client", at=at)
                        for at in (later, next_day, next_day)])
    db.session.add(ContentView(instance_id=a.id, pathway_key="mittari", page="ohje.md", role="professional",
                               at=next_day))
    db.session.commit()
    rollups.rebuild()  # counted from the rows as they are now
    found = metrics.report(Scope("mittari"), *Q1)
    # A: 14 Jan (the fixture's three and the one at 23:59), 15 Jan as client and as her team; B: 14 Jan.
    assert found.content == {"Näin mittaat verenpaineen": 4}
    assert found.metrics["content_views"].value == 4 and isinstance(found.metrics["content_views"].value, int)


def test_a_view_is_a_person_s_own_whatever_client_they_look_at(history, ctx):
    """Two nurses on one page on one day are two views; one nurse on the page of two clients is one, and so is
    her reload."""
    version = db.session.get(PathwayVersion, history.id)
    version.content = {"ohje.md": "## Ohje"}
    a, b = (db.session.query(Instance).filter_by(client_id=c).one() for c in ("asiakas-A", "asiakas-B"))
    at = datetime(2027, 2, 2, 9, tzinfo=UTC)
    db.session.commit()
    rollups.rebuild()  # counted from the rows as they are now
    before = metrics.report(Scope("mittari"), *Q1).content.get("Ohje", 0)
    for instance, viewer in ((a, "hoitaja.virtanen"), (b, "hoitaja.virtanen"), (a, "hoitaja.virtanen"),
                             (a, "hoitaja.nieminen")):
        db.session.add(ContentView(instance_id=instance.id, pathway_key="mittari", page="ohje.md",
                                   role="professional", viewer=viewer, at=at))
    db.session.commit()
    rollups.rebuild()  # counted from the rows as they are now
    assert metrics.report(Scope("mittari"), *Q1).content["Ohje"] == before + 2

def test_the_response_rate_counts_what_the_client_was_asked_to_answer(history, ctx):
    version = db.session.get(PathwayVersion, history.id)
    version.task_meta = {**version.task_meta, "ruokapaivakirja": {"diary": "food", "form": "ruoka.json"}}
    d = db.session.query(Instance).filter_by(client_id="asiakas-D").one()
    at = datetime(2027, 2, 1, 7, tzinfo=UTC)
    for n, (spec, state) in enumerate((("ruokapaivakirja", "cancelled"), ("ruokapaivakirja", "cancelled"),
                                       ("mittaus", "missed"), ("mittaus", "cancelled"), ("mittaus", "open"))):
        db.session.add(HumanTask(id=f"t-{n}", instance_id=d.id, version_id=history.id, pathway_key="mittari",
                                 spec=spec, title=spec, audience="client", candidate_groups=[], form="lomake.json",
                                 state=state, created_at=at + timedelta(hours=n)))
    db.session.commit()
    rollups.rebuild()  # counted from the rows as they are now
    found = metrics.report(Scope("mittari"), *Q1).metrics
    # 5 answered, 1 missed: the diaries closed by their timer, the measurement taken back and the open one
    # do not count. D answered 1 of her 2 decided: below 80 %, so A and B of three answer regularly.
    assert found["response_rate"].value == 100 * 5 / 6 and found["response_rate"].basis == 6
    assert found["answering_regularly"].value == 100 * 2 / 3
