"""Human tasks: the inbox, forms, claiming and completing."""

from flask import request
from flask_smorest import Blueprint, abort

from .. import queries, steps
from . import actor
from .schemas import (
    ClaimSchema,
    CompleteSchema,
    HumanTaskSchema,
    InstanceStateSchema,
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
    """Tasks by filter, soonest due first (open ones unless `state` says otherwise)."""
    return queries.tasks(**args)


@blp.route("/<task_id>")
@blp.response(200, TaskDetailSchema)
def get_task(task_id):
    """One task with its form's JSON Schema and UI schema."""
    return task_detail(queries.task_or_404(task_id))


@blp.route("/<task_id>/claim", methods=["POST"])
@blp.arguments(ClaimSchema)
@blp.response(200, HumanTaskSchema)
@blp.alt_response(409, description="the task is closed or someone else has it")
def claim(args, task_id):
    """Take a task (or give it to `assignee`)."""
    return steps.claim(task_id, args.get("assignee") or actor())


@blp.route("/<task_id>/release", methods=["POST"])
@blp.response(200, HumanTaskSchema)
@blp.alt_response(409, description="the task is closed")
def release(task_id):
    """Put a claimed task back to its team."""
    return steps.release(task_id)


@blp.route("/<task_id>/complete", methods=["POST"])
@blp.arguments(CompleteSchema)
@blp.response(200, InstanceStateSchema)
@blp.alt_response(404, description="no such task")
@blp.alt_response(409, description="the task is no longer open")
@blp.alt_response(422, description="the answers do not fit the form; `errors` names each field")
def complete(args, task_id):
    """Complete a task with the form's answers. An `Idempotency-Key` header makes retries safe."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 200:
        abort(400, message="Idempotency-Key must be 1 to 200 characters")
    return state(steps.complete(task_id, args["data"], actor(), key))
