"""What a client was asked to answer: the one definition behind the response rate and answering regularly.

Asked is a client's task with a form that is not a diary (a diary takes entries until its period closes, so
its closing is no unanswered form). Of those, a task counts once it is decided: answered (``completed``) or
missed (its deadline passed unanswered). One still open is not decided yet, and one ``cancelled`` (the
pathway ended, or was withdrawn from, before it was answered) was taken back, not left unanswered: neither
counts. The response rate is answered ÷ (answered + missed), by when the task was asked. As known at a moment,
a task answered or missed after it was still open then (``completed_at`` is when a task closed, however).
"""

from datetime import datetime

from sqlalchemy import and_, case, not_, or_, select, true

from ..extensions import db
from ..models import HumanTask, PathwayVersion
from .periods import before

REGULAR = 0.8  # a client "answers regularly" who answers at least this share of what was asked


def asked(versions: list[int] | None) -> tuple:
    """Conditions on ``HumanTask`` rows: a client's form, not a diary, of one of ``versions`` (None: any)."""
    query = select(PathwayVersion.id, PathwayVersion.task_meta)
    if versions is not None:
        query = query.where(PathwayVersion.id.in_(versions))
    diaries = [and_(HumanTask.version_id == version, HumanTask.spec.in_(specs))
               for version, meta in db.session.execute(query)
               if (specs := sorted(spec for spec, m in (meta or {}).items() if (m or {}).get("diary")))]
    return (true() if versions is None else HumanTask.version_id.in_(versions), HumanTask.audience == "client",
            HumanTask.form.is_not(None), not_(or_(*diaries)) if diaries else true())


def answered(at: datetime | None = None):
    """1 for a task answered (before ``at``; None: by now), else 0 (to sum)."""
    return case((and_(HumanTask.state == "completed", before(HumanTask.completed_at, at)), 1), else_=0)


def decided(at: datetime | None = None):
    """1 for a task answered or missed (before ``at``; None: by now), else 0 (to sum): the response rate's
    denominator."""
    return case((and_(HumanTask.state.in_(("completed", "missed")), before(HumanTask.completed_at, at)), 1), else_=0)
