"""The metric dashboards, their CSV exports and the JSON API, on the known history of the metrics tests."""

import csv
import io

from .conftest import Api
from .helpers import deploy_kind, text

Q1 = "2027-Q1"


def test_the_overview_shows_each_metric_with_its_light_and_percentage(history, web_as):
    page = text(web_as("yllapitaja.makinen").get(f"/metrics?quarter={Q1}"))
    row = page[page.index("Mittaripolku"):page.index("</tr>", page.index("Mittaripolku"))]
    # Clients on the pathway 1, started 4; response rate 100 % against 80 (125 % of it, green); within the
    # promise 33.3 % against 40 (83 % of it, red); NPS 50 against 50 (green); CES 5.5; content views 2. The value
    # comes first, then the share of the target, whole per cent rounded down, then the light.
    assert "<td>100,0 % · 125 %" in row and 'class="light light--green">Vihreä' in row
    assert "<td>33,3 % · 83 %" in row and 'class="light light--red">Punainen</span>' in row
    assert "<td>50 · 100 %" in row and "5,5" in row
    assert "Kaikki polut" in page  # the total, for administrators


def test_a_pathway_page_has_every_metric_trends_and_content_views(history, web_as):
    page = text(web_as("suunnittelija.laine").get(f"/metrics/mittari?quarter={Q1}&by=month"))
    assert "Vastausaika, mediaani" in page and "68,5 h" in page and "70 %" in page  # 48 h ÷ 68.5 h: 70.1 %
    assert "<td>ohje.md</td><td>2</td>" in page  # a page without a heading or a named task keeps its file name
    assert "<td>oireet</td><td>2</td><td>7,5</td><td>4,0</td><td>-3,5</td>" in page
    assert page.count("chart-image") == 6 and "Vastausprosentti taulukkona" in page
    weeks = text(web_as("suunnittelija.laine").get(f"/metrics/mittari?quarter={Q1}&by=week"))
    assert weeks.count("<td>2027-01-04</td>") == 6  # one row per trend for the week of 4 January


def test_every_table_downloads_as_csv(history, web_as):
    admin = web_as("yllapitaja.makinen")
    response = admin.get(f"/metrics/mittari.csv?quarter={Q1}")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = {r["metric"]: r for r in csv.DictReader(io.StringIO(response.get_data(as_text=True)))}
    assert rows["within_promise"]["value"] == "33.333" and rows["within_promise"]["light"] == "red"
    assert rows["within_promise"]["attainment_percent"] == "83.3" and rows["messages"]["basis"] == "3"
    content = list(csv.reader(io.StringIO(admin.get(f"/metrics/mittari.csv?quarter={Q1}&table=content")
                                          .get_data(as_text=True))))
    assert content == [["pathway", "quarter", "page", "views"], ["mittari", Q1, "ohje.md", "2"]]
    trends = list(csv.DictReader(io.StringIO(admin.get(f"/metrics/mittari.csv?quarter={Q1}&table=trends&by=quarter")
                                             .get_data(as_text=True))))
    started = [(r["period"], r["value"]) for r in trends if r["metric"] == "clients_started"]
    assert started == [("2027-01-01", "4"), ("2027-04-01", "0")]  # on 1 May 2027: no quarter ahead
    overview = admin.get(f"/metrics/all.csv?quarter={Q1}").get_data(as_text=True)
    assert "mittari,2027-Q1,nps,50.0,2,50.0,100.0,green" in overview


def test_the_json_api_gives_the_same_numbers(history, app):
    found = Api(app.test_client(), "yllapitaja.makinen").get(f"/api/v1/metrics?pathway=mittari&quarter={Q1}").json
    (report,) = found
    by_key = {m["key"]: m for m in report["metrics"]}
    assert by_key["response_rate"]["value"] == 100.0
    assert (by_key["reply_median_hours"]["unit"], by_key["reply_median_hours"]["light"]) == ("h", "red")
    assert by_key["nps"]["attainment_percent"] == 100.0 and by_key["ces"]["target"] is None
    assert report["start"].startswith("2026-12-31T22:00")  # 1 January in Helsinki
    bad = Api(app.test_client(), "yllapitaja.makinen").get("/api/v1/metrics?quarter=2027-Q5")
    assert bad.status_code == 422 and "quarter" in bad.get_data(as_text=True)


def test_a_professional_sees_only_the_numbers_of_their_teams_pathways(app, history, web_as):
    with app.app_context():
        deploy_kind("self-care")
    hanna, lauri = web_as("hoitaja.virtanen"), web_as("laakari.korhonen")
    assert "Mittaripolku" in text(hanna.get(f"/metrics?quarter={Q1}"))
    assert "Oma esitietopolku" not in text(hanna.get(f"/metrics?quarter={Q1}"))  # self-care: not for teams
    assert "Kaikki polut" not in text(hanna.get(f"/metrics?quarter={Q1}"))
    assert lauri.get(f"/metrics/mittari?quarter={Q1}").status_code == 404
    assert "Oma esitietopolku" in text(web_as("yllapitaja.makinen").get(f"/metrics?quarter={Q1}"))
    assert web_as("asiakas-123").get("/metrics").status_code == 403


def test_a_wrong_quarter_or_year_is_named(history, web_as):
    admin = web_as("yllapitaja.makinen")
    wrong = admin.get("/metrics?quarter=2027-Q7")
    assert wrong.status_code == 422 and "2027-Q1" in text(wrong)
    assert admin.get("/metrics/quarters?year=1800").status_code == 422
    year = text(admin.get("/metrics/quarters?year=2027"))
    # The clock is at 1 May 2027: the quarters not yet begun are not shown.
    assert all(q in year for q in ("2027-Q1", "2027-Q2")) and "2027-Q3" not in year and "83 %" in year


def test_an_administrator_sets_a_target_in_place_of_the_package_s(history, web_as):
    admin = web_as("yllapitaja.makinen")
    saved = admin.post("/metrics/mittari/goals", {"metric": "within_promise", "value": "30", "quarter": Q1})
    assert saved.status_code == 302
    page = text(admin.get(f"/metrics?quarter={Q1}"))
    assert "33,3 % · 111 %" in page  # against 30 instead of 40
    assert admin.post("/metrics/mittari/goals", {"metric": "within_promise", "value": "", "quarter": Q1}
                      ).status_code == 302
    assert "33,3 % · 83 %" in text(admin.get(f"/metrics?quarter={Q1}"))  # the package's 40 again
    assert admin.post("/metrics/mittari/goals", {"metric": "within_promise", "value": "-5"}).status_code == 422
    assert admin.post("/metrics/mittari/goals", {"metric": "kahvi", "value": "5"}).status_code == 422
    assert web_as("suunnittelija.laine").post("/metrics/mittari/goals", {"metric": "nps", "value": "5"}
                                              ).status_code == 403



def test_totals_by_kind_per_version_numbers_and_the_remaining_csvs(history, app, web_as):
    admin = web_as("yllapitaja.makinen")
    page = text(admin.get(f"/metrics?quarter={Q1}"))
    row = page[page.index("Kaikki ammattilaisen polut"):page.index("</tr>", page.index("Kaikki ammattilaisen polut"))]
    assert "100,0 %" in row and "33,3 %" in row  # the metrics pathway is the only professional one with data
    proms = list(csv.reader(io.StringIO(admin.get(f"/metrics/mittari.csv?quarter={Q1}&table=proms")
                                        .get_data(as_text=True))))
    assert proms == [["pathway", "quarter", "scale", "clients", "first_mean", "last_mean", "change"],
                     ["mittari", Q1, "oireet", "2", "7.5", "4.0", "-3.5"]]
    assert admin.get(f"/metrics/staff.csv?quarter={Q1}").get_data(as_text=True).startswith("team,sent,closes")
    one = Api(app.test_client(), "yllapitaja.makinen").get(f"/api/v1/metrics?pathway=mittari&version=1&quarter={Q1}")
    (report,) = one.json
    assert report["version"] == 1 and {m["key"]: m["value"] for m in report["metrics"]}["clients_started"] == 4
    missing = Api(app.test_client(), "yllapitaja.makinen").get("/api/v1/metrics?pathway=mittari&version=9")
    assert missing.status_code == 404
