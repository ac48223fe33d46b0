"""Authorization in one place: who is signed in, in which role, and which objects they may see.

A client sees only their own instances and tasks. A professional sees only clients on pathways
followed by one of their care teams (the teams a pathway's professional lanes and candidate groups
name); a pathway with no professional lane is self-care and never shown to professionals.
Designers and administrators see no client data at all. Each object guard returns the object or
aborts with 404, so nobody learns that something they may not see exists.
"""

from functools import wraps

from flask import abort, current_app, redirect, request, url_for

from .. import queries
from ..extensions import db
from ..models import HumanTask, Instance
from ..projection import audience
from . import sessions


def signed_in(*roles: str):
    """The view needs a signed-in user acting in one of ``roles``; the matrix test reads ``polku_roles``."""

    def wrap(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            user = sessions.current()
            if user is None:
                return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
            if roles and user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        guarded.polku_roles = roles
        return guarded

    return wrap


def user():
    """The signed-in user of a guarded view."""
    return sessions.current()


def pathway_teams(version_id: int) -> set[str]:
    """The care teams that follow a pathway version: every team its professional tasks are for."""
    info = current_app.extensions["polku_store"].info(version_id)
    teams: set[str] = set()
    for meta in info.task_meta.values():
        lane, groups = meta.get("lane"), meta.get("candidate_groups") or []
        if meta.get("kind") in ("userTask", "manualTask") and audience(lane, groups) == "professional":
            teams.update(filter(None, [lane, *groups]))
    return teams


def may_see_instance(instance: Instance) -> bool:
    current = user()
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
    task = db.session.get(HumanTask, task_id)
    if task is None:
        abort(404)
    instance = db.session.get(Instance, task.instance_id)
    current = user()
    if current.role == "client":
        allowed = task.audience == "client" and may_see_instance(instance)
    elif current.role == "professional":
        allowed = (task.audience == "professional" and may_see_instance(instance)
                   and bool(task_teams(task) & current.person.team_keys))
    else:
        allowed = False
    if not allowed:
        abort(404)
    return task


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
    if current.role == "client":
        return current.person.client_id
    return current.person.subject.split(":", 1)[-1]
