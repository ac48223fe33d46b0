"""Staff feedback: an administrator sends a team an NPS survey; each member answers once, anonymously.

Who answered (``StaffResponse``) and what was answered (``StaffScore``, the day only) are kept apart,
so no answer can be traced to a person. Staff NPS is counted the same way as the clients'.
"""

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..clock import now
from ..core.database import write
from ..core.refusal import N_, Refused
from ..extensions import db
from ..metrics import nps
from ..models import CareTeam, Membership, StaffResponse, StaffScore, StaffSurvey

QUESTION = "Kuinka todennäköisesti suosittelisit digitaalisia hoitopolkuja työtavaksi kollegallesi?"


def send(team: CareTeam, by: str, days: int = 14, question: str = QUESTION) -> StaffSurvey:
    at = now()
    survey = StaffSurvey(team_id=team.id, question=question, sent_by=by, sent_at=at,
                         closes_at=at + timedelta(days=days))
    with write():
        db.session.add(survey)
    return survey


def open_for(person) -> list[StaffSurvey]:
    """The open surveys of the person's teams that they have not answered yet."""
    teams = [t.id for t in person.teams]
    if not teams:
        return []
    answered = select(StaffResponse.survey_id).where(StaffResponse.person_id == person.id)
    return list(db.session.scalars(select(StaffSurvey).where(
        StaffSurvey.team_id.in_(teams), StaffSurvey.closes_at > now(), StaffSurvey.id.not_in(answered))
        .order_by(StaffSurvey.closes_at)))


def answer(survey: StaffSurvey, person, value: int) -> None:
    """Record one answer of a member of the survey's team; a second one is refused (two at once too)."""
    answered = Refused(409, N_("you have answered this survey already"))
    try:
        with write():
            if survey.team_id not in {t.id for t in person.teams}:
                raise Refused(403, N_("this survey is for another team"))
            if survey.closes_at <= now():
                raise Refused(409, N_("this survey has closed"))
            if db.session.get(StaffResponse, (survey.id, person.id)) is not None:
                raise answered
            day = now().replace(hour=0, minute=0, second=0, microsecond=0)
            db.session.add_all([StaffResponse(survey_id=survey.id, person_id=person.id),
                                StaffScore(survey_id=survey.id, value=value, at=day)])
    except IntegrityError:
        raise answered from None


def results(start: datetime, end: datetime) -> list[tuple[StaffSurvey, int, int, float | None]]:
    """Each survey sent in the period: (survey, members answered, team size, staff NPS)."""
    found = []
    for survey in db.session.scalars(select(StaffSurvey).where(StaffSurvey.sent_at >= start,
                                                               StaffSurvey.sent_at < end).order_by(StaffSurvey.id)):
        values = list(db.session.scalars(select(StaffScore.value).where(StaffScore.survey_id == survey.id)))
        size = db.session.scalar(select(func.count()).select_from(Membership)
                                 .where(Membership.team_id == survey.team_id))
        found.append((survey, len(values), size, nps(values)))
    return found
