"""Authorization in one place: who is signed in, in which role, and which objects they may see.

A client sees only their own instances and tasks. A professional sees only clients on pathways
followed by one of their care teams (the teams a pathway's professional lanes and candidate groups
name); a self-care pathway, or one with no professional lane, is never shown to professionals.
Designers and administrators see no client data at all. Each object guard returns the object or
aborts with 404, so nobody learns that something they may not see exists.
"""

from dataclasses import dataclass
from functools import wraps

from flask import abort, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import false

from ..core import queries
from ..core.store import store
from ..extensions import db
from ..models import HumanTask, Instance
from . import sessions


def signed_in(*roles: str):
    """The view needs a signed-in user acting in one of ``roles``; the matrix test reads ``polku_roles``."""

    def wrap(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            user = sessions.current()
            if user is None:
                expired = 1 if sessions.per_request().get("expired") else None
                return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?"), expired=expired))
            if roles and user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        guarded.polku_roles = roles
        return guarded

    return wrap


@dataclass(frozen=True)
class Service:
    """A trusted system calling the API (the lab, the patient record system): sees what it integrates."""

    name: str
    method: str = "token"
    role: str = "service"
    person: None = None


def user():
    """The signed-in user of a guarded view, or the service calling the API."""
    return sessions.current()


def pathway_teams(version_id: int) -> frozenset[str]:
    """The care teams that follow a pathway version (worked out once per version, see ``projection.teams``)."""
    return store().info(version_id).teams


def followed_versions(teams: set[str]) -> list[int]:
    """The pathway versions that any of ``teams`` follows."""
    return [v for v in queries.version_ids() if pathway_teams(v) & teams]


def may_see_instance(instance: Instance) -> bool:
    current = user()
    if current.role == "service":
        return True
    if instance.client_id is None:
        return False
    if current.role == "client":
        return instance.client_id == current.person.client_id
    if current.role == "professional":
        return bool(pathway_teams(instance.version_id) & current.person.team_keys)
    return False


def instance_for(instance_id: int) -> Instance:
    instance = db.session.get(Instance, instance_id)
    if instance is None or not may_see_instance(instance):
        abort(404)
    return instance


def task_for(task_id: str) -> HumanTask:
    """A task of the user's own: a client's on their own instance, or one for a professional's team."""
    task = queries.task_row(task_id) if len(task_id) <= 36 else None
    if task is None or not may_see_task(task):
        abort(404)
    return task


def own_tasks() -> list:
    """The conditions of the tasks the caller may see, for a query to page in the database: a client's own, a
    professional's teams' (a system's: all)."""
    current = user()
    if current.role == "client":
        return queries.client_tasks(current.person.client_id)
    if current.role == "professional":
        teams = current.person.team_keys
        return queries.team_tasks(teams, followed_versions(teams))
    return [] if current.role == "service" else [false()]


def task_teams(task: HumanTask) -> set[str]:
    return set(filter(None, [task.role, *(task.candidate_groups or [])]))


def client_instances(client_id: str) -> list[Instance]:
    """The instances of a client that this user may see, newest first; 404 when there are none."""
    found = [i for i in queries.client_instances(client_id) if may_see_instance(i)]
    if not found:
        abort(404)
    return found


def actor() -> str:
    """How the history names the signed-in user: a client by their client id, others by their login."""
    current = user()
    if current.role == "service":
        return current.name
    if current.role == "client":
        return current.person.client_id
    return current.person.login


def require(*roles: str) -> None:
    """The caller acts in one of ``roles`` (a service may do anything the API offers)."""
    if user().role not in (*roles, "service"):
        abort(403)


def client_in_person() -> str:
    """The signed-in client's id: consent is given, declined or withdrawn by the client alone, never for them."""
    if user().role != "client":
        abort(403, description=_("Only the client answers their consent."))
    return user().person.client_id


def may_see_task(task) -> bool:
    """A task row or entity: the caller's own (a client's) or their team's (a professional's). Judged on the
    task's own row, whose client and version are its instance's: no instance is read."""
    return _task_judge(user())(task)


def tasks_seen(rows) -> list:
    """Those of ``rows`` (tasks) the caller may see, as :func:`may_see_task` judges, the caller read once."""
    judge = _task_judge(user())
    return [row for row in rows if judge(row)]


def _task_judge(current):
    if current.role == "service":
        return lambda task: True
    if current.role == "client":
        own = current.person.client_id
        return lambda task: task.client_id is not None and task.audience == "client" and task.client_id == own
    if current.role != "professional":
        return lambda task: False
    teams = current.person.team_keys
    return lambda task: (task.client_id is not None and task.audience == "professional"
                         and bool(pathway_teams(task.version_id) & teams) and bool(task_teams(task) & teams))


def may_see_notification(notification) -> bool:
    """The caller's own (a client's) or their team's (a professional's), and only about an instance the
    caller may see: a self-care pathway's reminder never reaches a team, whatever its lane is called."""
    current = user()
    if current.role == "service":
        return True
    if current.role == "client":
        mine = notification.audience == "client" and notification.recipient == current.person.client_id
    else:
        mine = (current.role == "professional" and notification.audience == "professional"
                and notification.recipient in current.person.team_keys)
    return mine and may_see_instance(db.session.get(Instance, notification.instance_id))


def starts_for(version, client_id: str | None) -> str | None:
    """Whom an instance may be started for: a client only for themselves; a professional for a client,
    on a pathway one of their teams follows."""
    current = user()
    if current.role == "service":
        return client_id
    if current.role == "client":  # self-care only: a professional pathway is opened by its team
        if client_id not in (None, current.person.client_id) or version.kind != "self-care":
            abort(403)
        return current.person.client_id
    if not client_id or not pathway_teams(version.id) & current.person.team_keys:
        abort(403)
    return client_id


def may_act_on(task: HumanTask) -> None:
    """Completing or releasing a task is for whoever holds it, or anyone of its team while nobody does."""
    if user().role != "service" and task.assignee not in (None, actor()):
        abort(409, description=_("%(who)s is handling this task.", who=task.assignee))


def colleague(task: HumanTask, login: str) -> str:
    """Whom a task may be given to: a member of its care team (a service may name anyone)."""
    if user().role == "service":
        return login
    if user().role != "professional":
        abort(403)
    members = {p.login for p in queries.team_members(task_teams(task))}
    if login not in members:
        abort(422, description=_("Choose a colleague from the task's care team."))
    return login


def metric_versions() -> list:
    """The pathways whose numbers this user may see: all for administrators, designers and systems; a
    professional's teams' own (a self-care pathway's aggregates are not for professionals)."""
    found = queries.latest_versions()
    if user().role == "professional":
        mine = user().person.team_keys
        found = [v for v in found if pathway_teams(v.id) & mine]
    return found
