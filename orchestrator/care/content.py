"""A pathway's content pages: the Markdown a manual task names, and a count of every view."""

from sqlalchemy import func, select

from ..clock import now
from ..core.database import write
from ..core.store import store
from ..extensions import db
from ..models import ContentView, HumanTask, Instance, PathwayVersion


def meta_of(task: HumanTask) -> dict:
    """What the package says of a task (its content page, its diary…)."""
    return store().info(task.version_id).task_meta.get(task.spec, {})


def page_of(task: HumanTask) -> tuple[str, str] | None:
    """The content page a task shows, as (file name, Markdown), or None for a task that shows none."""
    name = meta_of(task).get("content")
    if not name:
        return None
    pages = db.session.scalar(select(PathwayVersion.content).where(PathwayVersion.id == task.version_id)) or {}
    return name, pages.get(name, "")


def count_view(instance: Instance, page: str, role: str, viewer: str | None = None) -> None:
    """One view of a page, by a client or a professional (``viewer``: who, as the access log names them)."""
    with write():
        db.session.add(ContentView(instance_id=instance.id, pathway_key=instance.pathway, page=page, role=role,
                                   viewer=viewer, at=now()))


def view_counts(pathway_key: str) -> dict[str, int]:
    """How many times each page of a pathway has been viewed."""
    rows = db.session.execute(select(ContentView.page, func.count()).where(ContentView.pathway_key == pathway_key)
                              .group_by(ContentView.page))
    return {page: count for page, count in rows}
