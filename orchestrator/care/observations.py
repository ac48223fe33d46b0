"""Measurements as typed observations: from a task's answers, or entered freely on the pathway page."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from ..core import steps
from ..core.database import insert_rows, write
from ..core.records import observation_row
from ..core.refusal import Refused
from ..engine.measurements import KINDS, Kind, plausible
from ..extensions import db
from ..models import Observation

MEASURED = "measurement_recorded"  # the message a pathway catches to hear of readings entered freely


def free_form(keys: list[str]) -> dict:
    """The form for measurements entered freely, of these kinds: a field per kind, as a task's form asks for it,
    so that the same checks hold (plausible range, whole numbers where the kind has no decimals, both readings
    of a blood pressure and the systolic above the diastolic)."""
    return plausible({"type": "object", "properties": {
        key: {"type": "integer" if KINDS[key].decimals == 0 else "number", "title": KINDS[key].label,
              "x-measurement": key} for key in keys}})


def record(instance, values: dict[str, float], measured_at: datetime, actor: str, at: datetime) -> datetime:
    """Measurements the client entered freely on the pathway page; returns when they were written.

    A pathway that catches the message ``measurement_recorded`` hears of them in the same transaction (its
    payload: each kind's value, and ``measured_at``), so that its decision tables judge a free reading as they
    judge one asked for: what it means is told to the client, and a high one reaches the team.
    """
    rows = [observation_row(KINDS[key], value, instance.id, instance.client_id, None, actor, measured_at, at)
            for key, value in values.items()]
    if MEASURED in (instance.messages or []):
        payload = {key: _as_read(key, value) for key, value in values.items()}
        payload["measured_at"] = measured_at.isoformat()
        try:
            done = steps.deliver(instance.id, MEASURED, payload, actor, lambda: insert_rows(Observation, rows))
            return done.updated_at
        except Refused as exc:
            if exc.status != 409:  # not waiting for it (any more): the readings are kept all the same
                raise
    with write():
        insert_rows(Observation, rows)
    return at


def of(instance_id: int) -> list[Observation]:
    """The instance's measurements, each a row, oldest first (those sent with a task's answers and those entered
    freely)."""
    return list(db.session.scalars(select(Observation).where(Observation.instance_id == instance_id)
                                   .order_by(Observation.measured_at, Observation.id)))


def _as_read(key: str, value: float) -> int | float:
    """A value as the client reads it: a whole number for a kind that has no decimals (mmHg)."""
    return int(value) if KINDS[key].decimals == 0 and float(value).is_integer() else value


@dataclass
class Series:
    """One kind of measurement over time, with the pathway's target range for it when it sets one, and the
    series read with it (blood pressure: the diastolic with the systolic), which its chart draws too."""

    kind: Kind
    points: list[tuple[datetime, float]] = field(default_factory=list)
    target: tuple[float, float] | None = None
    pair: "Series | None" = None

    @property
    def lines(self) -> list["Series"]:
        """What one chart draws: this series, and the one read with it."""
        return [self] + ([self.pair] if self.pair else [])

    def outside(self, value: float) -> str | None:
        """Where a value lies against the target range: ``"above"``, ``"below"``, or None (within, or no target)."""
        if self.target is None:
            return None
        low, high = self.target
        return "above" if value > high else "below" if value < low else None

    def rows(self) -> list[tuple[datetime, list[float | None]]]:
        """The chart's values as a table: a row per time measured, a value (or None) per line."""
        values = [dict(line.points) for line in self.lines]
        return [(at, [found.get(at) for found in values]) for at in sorted({at for found in values for at in found})]


def series(instance_id: int, targets: dict) -> list[Series]:
    """The instance's measurements, a series per kind, each oldest first; a kind with a target is there before its
    first reading (empty). A kind read in a pair comes as the ``pair`` of the pair's first kind (blood pressure)."""
    found = {key: Series(KINDS[key], target=tuple(targets[key])) for key in KINDS if key in targets}
    rows = db.session.scalars(select(Observation).where(Observation.instance_id == instance_id)
                              .order_by(Observation.measured_at, Observation.id))
    for row in rows:
        line = found.setdefault(row.kind, Series(KINDS[row.kind], target=tuple(targets[row.kind])
                                                 if row.kind in targets else None))
        line.points.append((row.measured_at, row.value))
    paired = {line.kind.pair for line in found.values() if line.kind.pair in found}
    for line in found.values():
        if line.kind.pair in paired:
            line.pair = found[line.kind.pair]
    return [found[key] for key in KINDS if key in found and key not in paired]
