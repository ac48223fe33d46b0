"""Staff feedback: an administrator sends a team the NPS survey; each member answers once, anonymously."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect, select

from orchestrator.auth import demo
from orchestrator.care import staff_surveys
from orchestrator.extensions import db
from orchestrator.models import CareTeam, StaffResponse, StaffScore, StaffSurvey

from .helpers import text


def test_a_team_answers_the_staff_survey_once_each_and_its_nps_is_counted(web_as, ctx):
    admin = web_as("yllapitaja.makinen")
    hanna, noora, lauri = (web_as(p) for p in ("hoitaja.virtanen", "hoitaja.nieminen", "laakari.korhonen"))
    team = db.session.scalars(select(CareTeam).where(CareTeam.key == "Hoitaja")).one()
    assert admin.post("/admin/surveys", {"team": str(team.id), "days": "14"}).status_code == 302
    survey = db.session.scalars(select(StaffSurvey)).one()
    assert f"/work/surveys/{survey.id}" in text(hanna.get("/work"))  # waiting in her inbox
    assert f"/work/surveys/{survey.id}" not in text(lauri.get("/work"))  # not his team's
    assert lauri.get(f"/work/surveys/{survey.id}").status_code == 404
    assert hanna.post(f"/work/surveys/{survey.id}", {"value": "10"}).status_code == 302
    assert noora.post(f"/work/surveys/{survey.id}", {"value": "5"}).status_code == 302
    again = hanna.post(f"/work/surveys/{survey.id}", {"value": "0"})
    assert again.status_code == 409 and "Olet vastannut jo" in text(again)
    assert f"/work/surveys/{survey.id}" not in text(hanna.get("/work"))  # answered: no longer asked
    (_, answered, size, nps), = staff_surveys.results(datetime(2000, 1, 1, tzinfo=UTC),
                                                      datetime(2100, 1, 1, tzinfo=UTC))
    assert (answered, size, nps) == (2, 2, 0.0)  # one promoter (10), one detractor (5): 50 % − 50 %
    page = text(admin.get("/admin/surveys"))
    assert "2 / 2" in page and "Hoitaja" in page
    overview = text(admin.get("/metrics"))  # this quarter's surveys beside the pathways' metrics
    assert "Henkilöstön NPS" in overview and "<td>2 / 2</td><td>0</td>" in overview


def test_answers_cannot_be_traced_to_a_person(web_as, ctx):
    survey = staff_surveys.send(demo.team("Hoitaja"), "yllapitaja.makinen")
    web_as("hoitaja.virtanen").post(f"/work/surveys/{survey.id}", {"value": "9"})
    columns = {c.key for c in inspect(StaffScore).columns}
    assert "person_id" not in columns and columns == {"id", "survey_id", "value", "at"}
    (score,) = db.session.scalars(select(StaffScore)).all()
    assert (score.at.hour, score.at.minute, score.value) == (0, 0, 9)  # the day only
    assert len(db.session.scalars(select(StaffResponse)).all()) == 1


def test_a_bad_answer_or_a_closed_survey_is_refused(web_as, ctx, clock):
    survey = staff_surveys.send(demo.team("Hoitaja"), "yllapitaja.makinen", days=1)
    hanna = web_as("hoitaja.virtanen")
    for bad in ("", "11", "-1", "kymmenen"):
        refused = hanna.post(f"/work/surveys/{survey.id}", {"value": bad})
        assert refused.status_code == 422 and 'aria-describedby="value-error"' in text(refused)
    assert web_as("yllapitaja.makinen").post("/admin/surveys", {"team": "999", "days": "14"}).status_code == 422
    clock.advance(timedelta(days=2))
    late = web_as("hoitaja.virtanen").post(f"/work/surveys/{survey.id}", {"value": "8"})
    assert late.status_code == 409
    assert db.session.scalars(select(StaffScore)).all() == []
