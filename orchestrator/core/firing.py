"""Firing due timers: any number of processes, each timer's transition applied exactly once.

The Timer rows are the truth about what is due. A firing claims one instance with a due timer
inside the step's own write transaction (``FOR UPDATE … SKIP LOCKED`` on PostgreSQL, so other
processes pass it by; on SQLite the write transaction holds the whole database), lets the engine
refresh that instance's timers, and commits. The engine fires only what its state says is due,
so a timer another process fired meanwhile cannot fire again.
"""

import logging
from datetime import datetime

from sqlalchemy import bindparam, select

from ..clock import now
from ..extensions import db
from ..models import Instance, Timer
from . import _compiled, steps
from .database import core, for_update
from .refusal import Refused
from .store import ROW, InstanceRow, store

log = logging.getLogger(__name__)
TIMERS, INSTANCES = Timer.__table__, Instance.__table__

# The claimed instance comes back as a step reads it, so the step need not read it again.
_DUE = (ROW.join_from(TIMERS, INSTANCES, INSTANCES.c.id == TIMERS.c.instance_id)
        .where(TIMERS.c.due_at < bindparam("now"), INSTANCES.c.status == "running")
        .order_by(TIMERS.c.due_at)
        .limit(1))
_DUE_SKIPPING = _DUE.where(TIMERS.c.instance_id.not_in(bindparam("skip", expanding=True)))
# ORDER BY … LIMIT 1 walks the due-time index; min() over the join makes PostgreSQL read both tables.
_NEXT_DUE = (select(TIMERS.c.due_at).join(INSTANCES, INSTANCES.c.id == TIMERS.c.instance_id)
             .where(INSTANCES.c.status == "running").order_by(TIMERS.c.due_at).limit(1))


def _claim(at: datetime, skip: set[int]) -> InstanceRow | None:
    """The instance with the earliest due timer that no other process holds; locked until commit.

    The timer row is locked with the instance: a row another process has just fired and deleted
    then drops out of the claim instead of handing over an instance with nothing left to fire.
    """
    if not skip:
        return store().row(_compiled.first(claim_statement(), {"now": at}))
    # Rare (an instance whose step failed this run): the list of ids to pass by needs SQLAlchemy's expansion.
    stmt = for_update(_DUE_SKIPPING, of=(TIMERS, INSTANCES), skip_locked=True)
    return store().row(core().execute(stmt, {"now": at, "skip": sorted(set(skip))}).mappings().first())


def claim_statement():
    """The claim as this database runs it (locking on PostgreSQL), parameter ``now``."""
    return for_update(_DUE, of=(TIMERS, INSTANCES), skip_locked=True)


def fire_due(limit: int | None = None, skip: set[int] | None = None) -> int:
    """Fire every timer due now, earliest first, one step transaction per instance; returns the steps run.

    An instance whose step fails (or fires nothing although a row says it is due) is left for the
    next run, logged, rather than tried again in a loop. Threads firing together share ``skip``, the
    instances so left, so none of them tries one again either.
    """
    done, skip = 0, set() if skip is None else skip
    while limit is None or done < limit:
        claim = _Claim(now(), skip)
        try:
            fired = steps.fire_next(claim)
        except Exception:  # noqa: BLE001 - one broken instance must not stop the others' timers
            log.exception("firing the timers of instance %s failed; left for the next run", claim.found)
            if claim.found is None:
                return done
            skip.add(claim.found)
            continue
        if fired is None:
            return done
        instance_id, count = fired
        if count == 0:
            log.warning("instance %s had a due timer row but no timer fired", instance_id)
            skip.add(instance_id)
        done += 1
    return done


class _Claim:
    """Claims inside the step's transaction, and remembers what it claimed should the step fail."""

    def __init__(self, at: datetime, skip: set[int]):
        self.at, self.skip, self.found = at, skip, None

    def __call__(self) -> InstanceRow | None:
        claimed = _claim(self.at, self.skip)
        self.found = claimed.id if claimed else None
        return claimed


_NEXT_END = (select(INSTANCES.c.ends_at).where(INSTANCES.c.status == "running", INSTANCES.c.ends_at.is_not(None))
             .order_by(INSTANCES.c.ends_at).limit(1))
_ENDING = _NEXT_END.with_only_columns(INSTANCES.c.id).where(INSTANCES.c.ends_at < bindparam("now"))


def next_due() -> datetime | None:
    """When the earliest waiting timer of a running instance falls due, or a running pathway's duration ends."""
    return min(filter(None, (db.session.execute(_NEXT_DUE).scalar(), db.session.execute(_NEXT_END).scalar())),
               default=None)


def end_overdue() -> int:
    """End every running pathway whose declared duration has passed; returns how many ended.

    Another process ending the same one first makes this one's step refuse (it is no longer running).
    One whose step fails is logged and left for the next run, as with timers, so the others still end.
    """
    ended, skip = 0, {0}
    while (found := db.session.execute(_ENDING.where(INSTANCES.c.id.not_in(skip)), {"now": now()}).scalar()):
        db.session.rollback()
        try:
            steps.cancel(found, "scheduler", "the pathway's duration ended", status="completed",
                         kind="duration_ended")
        except Refused:
            continue
        except Exception:  # noqa: BLE001 - one broken instance must not stop the others ending
            log.exception("ending instance %s at the end of its duration failed; left for the next run", found)
            skip.add(found)
            continue
        ended += 1
    db.session.rollback()
    return ended
