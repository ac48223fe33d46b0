"""Response objects that add related rows to a model for its detail schema."""

from flask import jsonify, make_response

from ..core import queries
from ..core.answers import form_of


class Detail:
    """Reads like the wrapped model, plus the extra attributes given."""

    def __init__(self, obj, **extra):
        self._obj = obj
        self.__dict__.update(extra)

    def __getattr__(self, name):
        return getattr(self._obj, name)


def instance_state(instance, **extra) -> Detail:
    """The instance as a step leaves it: open tasks, waiting timers, messages it can take."""
    tasks, timers = getattr(instance, "tasks", None), getattr(instance, "timers", None)
    # What its last step left it able to take; an instance no step has touched since that was kept: what the
    # version declares.
    waiting = getattr(instance, "waiting_for", None)
    return Detail(
        instance,
        tasks=queries.instance_tasks(instance.id) if tasks is None else tasks,
        timers=queries.instance_timers(instance.id) if timers is None else timers,
        waiting_for=(instance.messages if waiting is None else waiting) if instance.status == "running" else [],
        **extra,
    )


def answered(started):
    """A consent answer's response: the pathway it started (201), or that nothing started (declined, 200)."""
    if started is None:
        return make_response(jsonify({"answer": "declined"}), 200)
    return instance_state(started)


def instance_detail(instance) -> Detail:
    """The instance state with its whole history."""
    return instance_state(instance, history=queries.history(instance.id))


def task_detail(task) -> Detail:
    return Detail(task, **form_of(task))
