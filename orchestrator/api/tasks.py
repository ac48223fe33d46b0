"""Human tasks: the inbox, forms, claiming and completing."""

from flask import request
from flask_smorest import Blueprint, abort

from ..auth import guard
from ..core import notify, queries, steps
from . import actor, log_shown
from .schemas import (
    ClaimSchema,
    CompletedSchema,
    CompleteSchema,
    HumanTaskSchema,
    TaskDetailSchema,
    TaskQuerySchema,
)
from .views import instance_state as state
from .views import task_detail

blp = Blueprint("tasks", __name__, description="Human tasks for clients and professionals")


@blp.route("")
@blp.arguments(TaskQuerySchema, location="query")
@blp.response(200, HumanTaskSchema(many=True))
def list_tasks(args):
    """The caller's tasks by filter, soonest due first (open ones unless `state` says otherwise).

    A client sees their own tasks; a professional those of their care teams."""
    guard.require("client", "professional")
    found = guard.tasks_seen(queries.tasks(**args, within=guard.own_tasks()))
    log_shown({row.instance_id: row.instance_id for row in found}, "task-list", by_instance=True)
    return found


@blp.route("/<task_id>")
@blp.response(200, TaskDetailSchema)
def get_task(task_id):
    """One task with its form's JSON Schema and UI schema."""
    task = guard.task_for(task_id)
    log_shown({task.instance_id: task.id}, "task", by_instance=True)
    return task_detail(task)


@blp.route("/<task_id>/claim", methods=["POST"])
@blp.arguments(ClaimSchema)
@blp.response(200, HumanTaskSchema)
@blp.alt_response(409, description="the task is closed or someone else has it")
def claim(args, task_id):
    """Take a task (or give it to `assignee`)."""
    guard.require("professional")
    task = guard.task_for(task_id)
    to = guard.colleague(task, args["assignee"]) if args.get("assignee") else actor()
    guard.may_act_on(task)
    claimed = steps.claim(task.id, to)
    log_shown({task.instance_id: task.id}, "task", by_instance=True)
    return claimed


@blp.route("/<task_id>/release", methods=["POST"])
@blp.response(200, HumanTaskSchema)
@blp.alt_response(409, description="the task is closed")
def release(task_id):
    """Put a claimed task back to its team."""
    guard.require("professional")
    task = guard.task_for(task_id)
    guard.may_act_on(task)
    released = steps.release(task.id)
    log_shown({task.instance_id: task.id}, "task", by_instance=True)
    return released


@blp.route("/<task_id>/complete", methods=["POST"])
@blp.arguments(CompleteSchema)
@blp.response(200, CompletedSchema)
@blp.alt_response(404, description="no such task")
@blp.alt_response(409, description="the task is no longer open")
@blp.alt_response(422, description="the answers do not fit the form; `errors` names each field")
def complete(args, task_id):
    """Complete a task with the form's answers. An `Idempotency-Key` header makes retries safe."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 200:
        abort(400, message="Idempotency-Key must be 1 to 200 characters")
    task = guard.task_for(task_id)
    guard.may_act_on(task)
    done = steps.complete(task.id, args["data"], actor(), key)
    log_shown({done.client_id: task.id}, "task")
    told = getattr(done, "told", None)  # a replay answers with what the first completion told
    return state(done, told=told if told is not None else notify.told(queries.task_row(task.id)))
