"""The metrics' rollups: per-day counts the dashboards read instead of the rows they count (``metrics.rollups``).

``MetricDay`` holds, for one version (or, for content views, one pathway) and one local day, a metric's count or
sum, split by the day its outcome became known (so a figure "as known at the end of a day" is a sum too), by a
label (a content page) and by a bucket (a duration's histogram bucket). ``MetricClient`` holds one client's
answered and decided forms of a quarter, for the share answering regularly, which is per client; ``MetricProm``
her first and last answer to a PROM scale in a quarter. ``RollupMark``
records how far the rollups have been brought up to date, and what must be counted again."""

from datetime import date, datetime

from sqlalchemy import Date, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .flow import UTCDateTime


class MetricDay(db.Model):
    __tablename__ = "metric_day"

    version_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: a pathway's (content views)
    pathway_key: Mapped[str] = mapped_column(String(100), primary_key=True)  # "": a version's
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # the local day the counted thing began
    metric: Mapped[str] = mapped_column(String(40), primary_key=True)
    known: Mapped[date] = mapped_column(Date, primary_key=True)  # the local day its outcome was known
    label: Mapped[str] = mapped_column(String(200), primary_key=True, default="")
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True, default=0)
    value: Mapped[float] = mapped_column(Float)


class MetricClient(db.Model):
    __tablename__ = "metric_client"
    __table_args__ = (Index("ix_metric_client_instance", "instance_id"),)

    pathway_key: Mapped[str] = mapped_column(String(100), primary_key=True)  # over its versions, as a client moves
    quarter: Mapped[date] = mapped_column(Date, primary_key=True)  # the quarter's first day
    instance_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    answered: Mapped[int] = mapped_column(Integer)
    decided: Mapped[int] = mapped_column(Integer)


class MetricProm(db.Model):
    """One client's answers to a PROM scale in a quarter: how many, the first and the last."""

    __tablename__ = "metric_prom"
    __table_args__ = (Index("ix_metric_prom_instance", "instance_id"),)

    pathway_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    quarter: Mapped[date] = mapped_column(Date, primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scale: Mapped[str] = mapped_column(String(100), primary_key=True)
    answers: Mapped[int] = mapped_column(Integer)
    first: Mapped[float] = mapped_column(Float)
    last: Mapped[float] = mapped_column(Float)


class RollupMark(db.Model):
    __tablename__ = "rollup_mark"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)  # "counted", or "stale:<pathway key>"
    at: Mapped[datetime] = mapped_column(UTCDateTime)
