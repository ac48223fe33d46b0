"""Care-pathway records: offers and consents, content views, observations, diaries, messages, scores,
disclosures, metric goals and staff surveys."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Double, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .flow import PathwayVersion, UTCDateTime
from .people import CareTeam


class Offer(db.Model):
    """A professional pathway a professional opened for a client; it starts once the client consents."""

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("pathway_version.id"))
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the modules switched on or off
    offered_by: Mapped[str] = mapped_column(String(200))
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending, accepted, declined, withdrawn
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"))
    version: Mapped[PathwayVersion] = relationship(lazy="joined", innerjoin=True)


class Consent(db.Model):
    """Append-only: a client's answer to a pathway's consent text, or its withdrawal, and when."""

    __table_args__ = (Index("ix_consent_client", "client_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100))
    version_id: Mapped[int] = mapped_column(ForeignKey("pathway_version.id"))
    page: Mapped[str] = mapped_column(String(200))  # the consent page's file name
    text_hash: Mapped[str] = mapped_column(String(64))  # which wording was shown: its SHA-256
    answer: Mapped[str] = mapped_column(String(20))  # given, declined, withdrawn
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"), index=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offer.id"))


class ContentView(db.Model):
    """One view of a pathway's content page: what the organisation's view counts are made of."""

    __tablename__ = "content_view"
    __table_args__ = (Index("ix_content_view_page", "pathway_key", "page"),
                      Index("ix_content_view_at", "pathway_key", "at"),
                      Index("ix_content_view_when", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    pathway_key: Mapped[str] = mapped_column(String(100))
    page: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # who viewed it: client or professional
    viewer: Mapped[str | None] = mapped_column(String(200))  # the person (actor); None for views counted before
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Observation(db.Model):
    """A measurement as a typed value: what (its LOINC code), how much in which unit, and when measured."""

    __table_args__ = (Index("ix_observation_instance", "instance_id", "kind", "measured_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    client_id: Mapped[str | None] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # weight, waist, glucose, systolic, diastolic
    code: Mapped[str] = mapped_column(String(20))  # LOINC
    panel: Mapped[str | None] = mapped_column(String(20))  # the LOINC panel it belongs to (blood pressure)
    value: Mapped[float] = mapped_column(Double)  # as the migrations made it (double precision)
    unit: Mapped[str] = mapped_column(String(20))
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    task_id: Mapped[str | None] = mapped_column(String(36))  # the task it was sent with; None: entered freely
    recorded_by: Mapped[str] = mapped_column(String(200))


class DiaryEntry(db.Model):
    """One entry of a food or exercise diary, kept while its diary task is open."""

    __tablename__ = "diary_entry"
    __table_args__ = (Index("ix_diary_entry_instance", "instance_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    task_id: Mapped[str] = mapped_column(String(36), index=True)
    diary: Mapped[str] = mapped_column(String(20))  # food or exercise
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(200))


class Message(db.Model):
    """A message between a client and the care team on a professional pathway.

    A client's message gets ``reply_by`` from the pathway's service promise; the team's first reply
    after it sets ``replied_at`` (its response time) on every message of the client it answers.
    """

    __table_args__ = (Index("ix_message_open", "team", "replied_at", "reply_by"),
                      Index("ix_message_sent", "sent_at"),
                      Index("ix_message_replied", "replied_at"),  # the metrics' rollups: replies since…
                      Index("ix_message_reply_by", "reply_by"))  # …and promises come due since they last counted
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(100))
    team: Mapped[str | None] = mapped_column(String(200))  # the team that answers
    sender: Mapped[str] = mapped_column(String(20))  # client or professional
    author: Mapped[str] = mapped_column(String(200))  # who wrote it (their login)
    author_name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reply_by: Mapped[datetime | None] = mapped_column(UTCDateTime)  # client messages only
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # by the other side


class Score(db.Model):
    """A feedback or outcome answer as a number (NPS 0–10, CES 1–7, a PROM scale), kept without the client:
    metrics read these, and a self-care pathway's are anonymous aggregates only."""

    __table_args__ = (Index("ix_score_pathway", "pathway_key", "kind", "at"),
                      Index("ix_score_version", "version_id", "at"),
                      Index("ix_score_at", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    pathway_key: Mapped[str] = mapped_column(String(100))
    version_id: Mapped[int] = mapped_column(ForeignKey("pathway_version.id"))
    kind: Mapped[str] = mapped_column(String(20))  # nps, ces, prom
    name: Mapped[str] = mapped_column(String(100))  # the form field (a PROM: its scale)
    task_spec: Mapped[str] = mapped_column(String(200))  # which questionnaire (start, end…)
    value: Mapped[float] = mapped_column(Double)  # as the migrations made it (double precision)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Disclosure(db.Model):
    """Append-only: every export that leaves Polku (a client's FHIR bundle, a metrics CSV) — who, what, when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    client_id: Mapped[str | None] = mapped_column(String(100), index=True)  # None: aggregates only
    what: Mapped[str] = mapped_column(String(40))  # fhir-bundle, metrics-csv
    detail: Mapped[str] = mapped_column(String(300))  # the route and its arguments


class MetricGoal(db.Model):
    """A target an administrator set for a pathway's metric; it takes the place of the package's own."""

    __tablename__ = "metric_goal"
    pathway_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    metric: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[float] = mapped_column(Double)  # as the migrations made it (double precision)
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffSurvey(db.Model):
    """A staff feedback survey (NPS 0–10) an administrator sends to a care team."""

    __tablename__ = "staff_survey"
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("care_team.id"), index=True)
    question: Mapped[str] = mapped_column(String(300))
    sent_by: Mapped[str] = mapped_column(String(200))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    team: Mapped[CareTeam] = relationship(lazy="joined", innerjoin=True)


class StaffResponse(db.Model):
    """Who has answered a staff survey, so nobody answers twice; what they answered is kept apart, unnamed."""

    __tablename__ = "staff_response"
    survey_id: Mapped[int] = mapped_column(ForeignKey("staff_survey.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)


class StaffScore(db.Model):
    """One anonymous staff NPS answer."""

    __tablename__ = "staff_score"
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("staff_survey.id"), index=True)
    value: Mapped[int]
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # the day only, so that the order does not name anyone
