"""Database models (typed SQLAlchemy 2.0): the pathways and their running instances with the rows a step
projects (``flow``), people and access (``people``), the care-pathway records (``care``), and what Polku sends
out (``outbox``)."""

from .care import (
    Consent,
    ContentView,
    DiaryEntry,
    Disclosure,
    Message,
    MetricGoal,
    Observation,
    Offer,
    Score,
    StaffResponse,
    StaffScore,
    StaffSurvey,
)
from .flow import (
    ACTIVE,
    Event,
    HumanTask,
    Instance,
    Notification,
    Pathway,
    PathwayVersion,
    TaskState,
    Timer,
    UTCDateTime,
)
from .outbox import ContactChoice, DeliveryAttempt, Outgoing, Subscription
from .people import AccessLog, CareTeam, Membership, Person, TaskDraft, UserSession, new_client_id
from .rollups import MetricClient, MetricDay, MetricProm, RollupMark

__all__ = [
    "ACTIVE", "AccessLog", "CareTeam", "Consent", "ContactChoice", "ContentView", "DeliveryAttempt", "DiaryEntry",
    "Disclosure", "Event", "HumanTask", "Instance", "Membership", "Message", "MetricClient", "MetricDay", "MetricProm",
    "MetricGoal", "Notification", "Observation", "Offer", "Outgoing", "Pathway", "PathwayVersion", "Person",
    "RollupMark", "Score", "StaffResponse", "StaffScore", "StaffSurvey", "Subscription", "TaskDraft", "TaskState",
    "Timer", "UTCDateTime", "UserSession", "new_client_id",
]
