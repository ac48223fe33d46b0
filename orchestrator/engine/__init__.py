"""The engine facade: the only package that imports SpiffWorkflow.

It knows nothing of Flask or the database. The app hands it package files and stored documents;
it hands back specs, workflows, task views and state documents.
"""

from functools import lru_cache

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from . import calendar, limits, runtime, sandbox, state, templates, timekeeping
from .compile import CompiledPathway, compile_package, deep_recursion
from .limits import LimitExceeded, Limits, use_limits
from .problems import PackageInvalid, Problem
from .runtime import EngineIncident, TaskNotOpen, TaskView, view
from .state import SERIALIZER_VERSION, Changes, Snapshot, StateCodec, snapshot, state_name
from .timekeeping import DEFAULT_ZONE, in_zone, use_clock, zone_problem
from .workflow import register as register_workflow
from .workflow import wire_event_subprocesses


def _serializer() -> BpmnWorkflowSerializer:
    """SpiffWorkflow's serializer, restoring our workflow class and our calendar timers."""
    registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
    register_workflow(registry)
    timekeeping.register(registry)
    return BpmnWorkflowSerializer(registry)


@lru_cache(maxsize=1)
def serializer() -> BpmnWorkflowSerializer:
    return _serializer()


@lru_cache(maxsize=1)
def codec() -> StateCodec:
    # A serializer of its own: the codec switches its registry to encoder mode while it writes.
    return StateCodec(_serializer())


@lru_cache(maxsize=1)
def script_engine() -> PythonScriptEngine:
    return sandbox.script_engine()


def compare(live, reloaded) -> str | None:
    """Name the first difference between two workflows, or None when they are the same."""
    return state.compare(live, reloaded, codec().canonical)


def compile_files(files: dict[str, bytes], forms, pages: dict[str, bytes] | None = None) -> CompiledPathway:
    return compile_package(files, forms, serializer().registry, pages)


def restore_specs(spec_doc: dict) -> tuple:
    registry = serializer().registry
    with deep_recursion():
        spec = registry.restore(spec_doc["spec"])
        subs = {k: registry.restore(v) for k, v in spec_doc["subprocess_specs"].items()}
    for each in (spec, *subs.values()):
        wire_event_subprocesses(each)
    return spec, subs


from . import migration  # noqa: E402 - it builds on the serializer and codec above

__all__ = [
    "Changes", "CompiledPathway", "PackageInvalid", "Problem", "EngineIncident", "TaskNotOpen", "TaskView", "view",
    "SERIALIZER_VERSION", "compare", "Snapshot", "StateCodec", "snapshot", "state_name", "runtime", "codec",
    "script_engine", "compile_files", "restore_specs", "serializer", "in_zone", "use_clock", "zone_problem",
    "DEFAULT_ZONE", "limits", "migration", "templates", "calendar", "LimitExceeded", "Limits", "use_limits",
]
