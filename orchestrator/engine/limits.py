"""How long pathway code may run and how much it may allocate, and how many engine steps one request takes.

The sandbox (``sandbox.py``) stops escapes, not exhaustion: ``while True: pass`` in a script task would
hold a request thread (and on SQLite the write lock) for ever, and a loop of zero-length timers would
keep the engine busy in one request. Here every evaluation of pathway code gets a deadline and a memory
allowance, checked only while that code runs; every engine operation (``runtime._guarded``) gets a
number of engine steps and a deadline of its own.

Scripts and expressions check at each turn of a loop and each call of a function they define, a
tenth of a microsecond each; templates are watched by a trace function while they render (Python
reports no line for ``while True: pass`` written on one line, so scripts cannot rely on one).
Bounds on single operations that take long inside C (``10 ** (10 ** 7)``, ``'a' * 10 ** 9``) are in
``guards.py``: no check runs until they end.

The settings are module-level, as the clock is (``timekeeping.use_clock``): the app passes its own
at start-up (:func:`configure` with its config, or :func:`use_limits`); until then they come from
the same ``POLKU_*`` environment variables as ``config.py`` reads.
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from time import perf_counter, sleep

# Code objects of pathway code: RestrictedPython compiles scripts and expressions as "<string>" (SpiffWorkflow
# finds a failing script's line by that name), Jinja compiles templates as "<template>".
PATHWAY_CODE = frozenset({"<string>", "<template>"})
MEMORY_LOOK_EVERY = 0.001  # seconds between looks at the process's size while pathway code runs


def _env(name: str, default: str) -> str:
    return os.environ.get(f"POLKU_{name}", default)


@dataclass(frozen=True)
class Limits:
    script_seconds: float = float(_env("SCRIPT_SECONDS", "1"))  # one script, condition, expression or template
    step_seconds: float = float(_env("STEP_SECONDS", "10"))  # one engine operation (a request's step) in all
    engine_steps: int = int(_env("ENGINE_STEPS", "1000"))  # tasks the engine runs by itself in one operation
    memory_bytes: int = int(_env("SCRIPT_MEMORY_MB", "256")) * 1024 * 1024  # growth while one piece of code runs


_limits = [Limits()]


def use_limits(**settings) -> Limits:
    """Set some limits (``script_seconds=2``, …); the others stay. Returns the limits now in force."""
    _limits[0] = replace(_limits[0], **{k: v for k, v in settings.items() if v is not None})
    return _limits[0]


def configure(config) -> Limits:
    """Take the limits from the app's settings (``POLKU_SCRIPT_SECONDS`` and the others of ``config.py``)."""
    return use_limits(script_seconds=config.get("POLKU_SCRIPT_SECONDS"), step_seconds=config.get("POLKU_STEP_SECONDS"),
                      engine_steps=config.get("POLKU_ENGINE_STEPS"),
                      memory_bytes=config["POLKU_SCRIPT_MEMORY_MB"] * 1024 * 1024
                      if config.get("POLKU_SCRIPT_MEMORY_MB") else None)


def current() -> Limits:
    return _limits[0]


class LimitExceeded(Exception):
    """Pathway code passed a limit. ``element`` is the BPMN element when the raiser knows it.

    An ``Exception``, so that SpiffWorkflow marks the task failed as for any other error in a script;
    ``runtime._guarded`` finds it behind SpiffWorkflow's wrapping and makes the incident say which limit.
    """

    def __init__(self, message: str, element: str | None = None):
        super().__init__(message)
        self.element = element


def cause(exc: BaseException) -> LimitExceeded | None:
    """The limit behind an error SpiffWorkflow wrapped (``raise … from`` or raised while handling)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, LimitExceeded):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__ or getattr(exc, "exception", None)
    return None


# --------------------------------------------------------------------------- one engine operation

@dataclass
class _Operation:
    deadline: float
    steps_left: int


_operation: ContextVar[_Operation | None] = ContextVar("polku_operation", default=None)


@contextmanager
def operation() -> Iterator[None]:
    """One engine operation (start, complete, message, timers): its step count and deadline.

    Nested uses share the outer one: ``do_engine_steps`` opens one for callers that run the engine
    without ``runtime``'s guard.
    """
    if _operation.get() is not None:
        yield
        return
    limits = current()
    token = _operation.set(_Operation(perf_counter() + limits.step_seconds, limits.engine_steps))
    try:
        yield
    finally:
        _operation.reset(token)


def engine_step(element: str | None) -> None:
    """Count one task the engine runs by itself; past the operation's steps or time, stop it."""
    running = _operation.get()
    if running is None:
        return
    running.steps_left -= 1
    if running.steps_left < 0:
        raise LimitExceeded(f"step limit: the process ran more than {current().engine_steps:,} engine steps in "
                            "one request (a loop without a wait, or a cycle timer repeating at once?)", element)
    if perf_counter() > running.deadline:
        raise LimitExceeded(f"time limit: the process ran longer than {current().step_seconds:g} s in one request",
                            element)


# --------------------------------------------------------------------------- one piece of pathway code

class _Watch:
    """One piece of pathway code running: its deadline and memory allowance.

    Scripts and expressions call :func:`tick` at every turn of a loop and every call of a function
    they define (``guards.LimitingTransformer`` puts the calls there); templates, which Jinja compiles,
    are watched by a trace function instead (``call``, ``line``). Either way :meth:`check` decides.
    """

    __slots__ = ("deadline", "seconds", "next_look", "baseline", "allowance", "tripped")

    def __init__(self, seconds: float, deadline: float, allowance: int):
        self.seconds, self.deadline, self.allowance = seconds, deadline, allowance
        # The size to grow from is read at the first check: code without a loop never needs it.
        self.next_look, self.baseline = 0.0, None
        self.tripped: str | None = None

    def call(self, frame, event, arg):
        self.check()
        return self.line if frame.f_code.co_filename in PATHWAY_CODE else None

    def line(self, frame, event, arg):
        self.check()
        return self.line

    def check(self) -> None:
        # Once tripped, every check raises again: code that catches the error cannot go on.
        if self.tripped is not None:
            raise LimitExceeded(self.tripped)
        now = perf_counter()
        if now > self.deadline:
            self.tripped = f"time limit: pathway code ran longer than {self.seconds:g} s"
            raise LimitExceeded(self.tripped)
        if now > self.next_look:
            self.next_look = now + MEMORY_LOOK_EVERY
            sleep(0)  # a long-running piece gives the interpreter up a moment: other requests go on meanwhile
            size = resident_bytes()
            if self.baseline is None or size is None:
                self.baseline = size
            elif size - self.baseline > self.allowance:
                self.tripped = f"memory limit: pathway code took more than {self.allowance // 2 ** 20:,} MB"
                raise LimitExceeded(self.tripped)


_watch: ContextVar[_Watch | None] = ContextVar("polku_watch", default=None)


def tick() -> bool:
    """A turn of a loop or a call in pathway code: past its deadline or memory allowance, stop it.
    True, so that it can stand first in a comprehension's conditions and a lambda's ``and``."""
    watch = _watch.get()
    if watch is not None:
        watch.check()
    return True


class watched:  # noqa: N801 - used as a function: ``with watched():``
    """Run pathway code under its deadline (its own, or what is left of the operation's) and memory
    allowance; ``trace``: watch it with a trace function (templates), not by its ticks. Pathway code
    within pathway code already watched goes on under the outer watch.

    A class rather than a generator: conditions are evaluated often, and this costs them a third.
    """

    __slots__ = ("trace", "token", "previous")

    def __init__(self, trace: bool = False):
        self.trace, self.token, self.previous = trace, None, None

    def __enter__(self) -> None:
        if _watch.get() is not None:
            return
        limits, running = current(), _operation.get()
        deadline, seconds = perf_counter() + limits.script_seconds, limits.script_seconds
        if running is not None and running.deadline < deadline:
            deadline, seconds = running.deadline, limits.step_seconds
        watch = _Watch(seconds, deadline, limits.memory_bytes)
        self.token = _watch.set(watch)
        if self.trace:
            self.previous = sys.gettrace()
            sys.settrace(watch.call)

    def __exit__(self, *exc) -> None:
        if self.token is None:
            return
        if self.trace:
            sys.settrace(self.previous)
        _watch.reset(self.token)


# --------------------------------------------------------------------------- the process's size

_statm: list[tuple[int, int] | None] = [None]  # (pid, file descriptor) of /proc/self/statm
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int | None:
    """The process's resident size now (Linux), or None where it cannot be read cheaply.

    The file is opened once per process (a forked worker opens its own): reading it costs half a
    microsecond, a thousand times a second at most while pathway code runs.
    """
    opened = _statm[0]
    try:
        if opened is None or opened[0] != os.getpid():
            opened = _statm[0] = (os.getpid(), -1)
            opened = _statm[0] = (os.getpid(), os.open("/proc/self/statm", os.O_RDONLY))
        return int(os.pread(opened[1], 64, 0).split()[1]) * _PAGE if opened[1] >= 0 else None
    except (OSError, ValueError, IndexError):
        return None
