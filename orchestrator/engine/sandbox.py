"""Scripts and expressions of a pathway run restricted.

SpiffWorkflow evaluates conditions, timer expressions, DMN rules and script tasks with plain
``eval``/``exec``: a pathway file could run anything on the server. Here they are compiled with
RestrictedPython (no names or attributes starting with ``_``, no imports) and run with its guards,
so a process can compute with its data and nothing else. They run within limits too: a deadline and
a memory allowance (``limits.py``), and bounds on the values they build (``guards.py``), so that
they cannot exhaust the server either.
"""

from functools import lru_cache

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, limited_builtins, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from . import guards, timekeeping
from .limits import LimitExceeded, tick, watched

# What a designer's expression may call: pure functions on values.
EXTRA_BUILTINS = {name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
                  for name in ("all", "any", "dict", "enumerate", "filter", "list", "map", "max", "min",
                               "reversed", "sum")}


def _getattr(obj, name: str, default=None):
    """RestrictedPython's ``getattr`` (no ``_`` names, no ``str.format``), with growing methods bounded."""
    return guards.method(obj, name, safer_getattr(obj, name, default))


BUILTINS = {**safe_builtins, **limited_builtins, **EXTRA_BUILTINS,
            "range": guards.limited_range, "pow": guards.limited_pow, "_getattr_": _getattr}
GUARDS = {
    "__builtins__": BUILTINS,
    "_getattr_": _getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": guards.inplace,
    "_binop_": guards.binop,
    "_format_": guards.formatted,
    "_tick_": tick,
    **timekeeping.HELPERS,  # calendar time for timer expressions: next_at, plan_at, is_past
}


class RestrictedCode(SyntaxError):
    """Code that RestrictedPython refuses to compile; the message names what is not allowed."""


@lru_cache(maxsize=4096)
def compile_expression(source: str):
    result = compile_restricted_eval(source.strip(), policy=guards.LimitingTransformer)
    if result.errors:
        raise RestrictedCode("; ".join(result.errors))
    return result.code


@lru_cache(maxsize=4096)
def compile_script(source: str):
    result = compile_restricted_exec(source, policy=guards.LimitingTransformer)
    if result.errors:
        raise RestrictedCode("; ".join(result.errors))
    return result.code


class RestrictedEnvironment(TaskDataEnvironment):
    """SpiffWorkflow's task-data environment, with restricted compilation, guards and limits.

    What an expression gives and what a script leaves in the task data is measured too: the state
    of the instance is written out as JSON after the step, where a list holding itself a thousand
    times over would be written out a thousand times.
    """

    def __init__(self):
        super().__init__(dict(GUARDS))

    def evaluate(self, expression, context, external_context=None):
        code = compile_expression(expression)
        with watched():
            result = super().evaluate(code, context, external_context)
        guards.check_data(result, "the value of an expression")
        return result

    def execute(self, script, context, external_context=None):
        code = compile_script(script)
        before = dict(context)
        try:
            with watched():
                done = super().execute(code, context, external_context)
        except Exception:
            guards.trim_data(context, before)  # a script stopped in a loop may have left much behind
            raise
        if guards.trim_data(context, before):
            raise LimitExceeded(f"size limit: the task data the script left would hold more than "
                                f"{guards.MAX_DATA:,} items and characters")
        return done


def script_engine() -> PythonScriptEngine:
    return PythonScriptEngine(environment=RestrictedEnvironment())
