"""Scripts and expressions of a pathway run restricted.

SpiffWorkflow evaluates conditions, timer expressions, DMN rules and script tasks with plain
``eval``/``exec``: a pathway file could run anything on the server. Here they are compiled with
RestrictedPython (no names or attributes starting with ``_``, no imports) and run with its guards,
so a process can compute with its data and nothing else.
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

# What a designer's expression may call: pure functions on values.
EXTRA_BUILTINS = {name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
                  for name in ("all", "any", "dict", "enumerate", "filter", "list", "map", "max", "min",
                               "reversed", "sum")}


def _inplace(op: str, x, y):
    """``x op= y`` for the operators arithmetic on data needs."""
    operations = {"+=": lambda: x + y, "-=": lambda: x - y, "*=": lambda: x * y, "/=": lambda: x / y,
                  "//=": lambda: x // y, "%=": lambda: x % y}
    if op not in operations:
        raise SyntaxError(f"the operator {op} is not allowed in a pathway script")
    return operations[op]()


GUARDS = {
    "__builtins__": {**safe_builtins, **limited_builtins, **EXTRA_BUILTINS},
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplace,
}


class RestrictedCode(SyntaxError):
    """Code that RestrictedPython refuses to compile; the message names what is not allowed."""


@lru_cache(maxsize=4096)
def compile_expression(source: str):
    result = compile_restricted_eval(source.strip())
    if result.errors:
        raise RestrictedCode("; ".join(result.errors))
    return result.code


@lru_cache(maxsize=4096)
def compile_script(source: str):
    result = compile_restricted_exec(source)
    if result.errors:
        raise RestrictedCode("; ".join(result.errors))
    return result.code


class RestrictedEnvironment(TaskDataEnvironment):
    """SpiffWorkflow's task-data environment, with restricted compilation and guards."""

    def __init__(self):
        super().__init__(dict(GUARDS))

    def evaluate(self, expression, context, external_context=None):
        return super().evaluate(compile_expression(expression), context, external_context)

    def execute(self, script, context, external_context=None):
        return super().execute(compile_script(script), context, external_context)


def script_engine() -> PythonScriptEngine:
    return PythonScriptEngine(environment=RestrictedEnvironment())
