"""The step core's fast path: Core statements compiled once in this process and run straight on the
DB-API cursor of the session's transaction. Private to ``orchestrator.core``.

These are not server-side prepared statements: each call sends its SQL text to the server as usual.
What is saved is SQLAlchemy's own work per call. A step runs about ten small statements; through
``Connection.execute`` each costs roughly ten times the statement itself (parameter handling, result
metadata, events), which made the database layer most of a task completion. Here a statement is
compiled once per set of parameter names, with SQLAlchemy's bind and result processors for its column
types (JSON, aware datetimes), and each call is one ``cursor.execute``/``executemany`` on the same
connection, so it takes part in the transaction SQLAlchemy began.

On PostgreSQL a step's writes can travel together (``pipelined``): each statement is sent without
waiting for its answer, so a step's dozen statements cost a few round trips, not a dozen.

Writing past the ORM means the session's identity map does not know: every table written here is
remembered, and ``expire_written`` expires the loaded objects of those tables once the transaction
ends. The compiler's internals used (``positiontup``, ``binds``, ``insert_prefetch``) are those of the
SQLAlchemy 2.0 minor version pinned in pyproject.toml.

Only for statements whose parameters are all given by the caller: no column defaults, no expanding
``IN`` lists. Driver errors are raised as SQLAlchemy's (``IntegrityError`` and so on).
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

from ..extensions import db

# Row counts to check once a pipeline has its answers: (cursor, expected count, error to raise).
_deferred: ContextVar[list | None] = ContextVar("polku_pipeline_checks", default=None)


class Record(dict):
    """A result row: a dict whose values also read as attributes."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # bind parameter names, in the order a positional driver takes them
    positional: bool
    literals: dict  # values written into the statement itself, e.g. state == "open"
    binds: tuple[tuple[str, Callable], ...]  # (name, processor) for the parameters that need converting
    columns: tuple[str, ...]  # result column names
    results: tuple[Callable | None, ...]  # per result column

    def parameters(self, values: dict):
        converted = {**self.literals, **values}
        for name, process in self.binds:
            converted[name] = process(converted[name])
        return tuple(converted[n] for n in self.names) if self.positional else converted

    def row(self, raw: tuple) -> Record:
        return Record((name, value if process is None or value is None else process(value))
                      for name, process, value in zip(self.columns, self.results, raw, strict=True))


@lru_cache(maxsize=256)
def _compile(stmt: Executable, keys: tuple[str, ...], dialect: Dialect) -> _Compiled:
    compiled = stmt.compile(dialect=dialect, column_keys=list(keys))
    missing = [c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
    if missing:
        raise ValueError(f"{stmt}: give every column a value here, defaults are not applied ({missing})")
    names = tuple(compiled.positiontup or compiled.binds)
    literals = {name: compiled.binds[name].value for name in names if name not in keys}
    binds = []
    for name in names:
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binds.append((name, process))
    selected = getattr(stmt, "selected_columns", None) or []
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in selected)
    return _Compiled(str(compiled), names, compiled.positiontup is not None, literals, tuple(binds),
                     tuple(column.key for column in selected), results)


def statement(stmt: Executable, values: dict) -> tuple[str, tuple | dict]:
    """The SQL and driver parameters a statement runs as here (for EXPLAIN and the like)."""
    compiled = _compile(stmt, tuple(values), db.engine.dialect)
    return compiled.sql, compiled.parameters(values)


# The connection of the transaction a step holds, so each statement need not ask the session for it.
_connection: ContextVar = ContextVar("polku_step_connection", default=None)


@contextmanager
def one_connection() -> Iterator[None]:
    """Inside a transaction that stays open throughout: statements use its connection directly."""
    token = _connection.set(db.session.connection().connection.driver_connection)
    try:
        yield
    finally:
        _connection.reset(token)


def _driver_connection():
    return _connection.get() or db.session.connection().connection.driver_connection


def _prepare(stmt: Executable, values: dict):
    table = getattr(stmt, "table", None)  # INSERT, UPDATE and DELETE name the table they write
    if table is not None:
        db.session().info.setdefault(WRITTEN, set()).add(table)
    return _compile(stmt, tuple(values), db.engine.dialect), _driver_connection().cursor()


WRITTEN = "polku_written_past_orm"


def expire_written() -> None:
    """Loaded ORM objects of every table written here since the last call are read again on next use."""
    session = db.session()
    tables = session.info.pop(WRITTEN, None)
    if not tables:
        return
    for obj in list(session.identity_map.values()):
        if getattr(type(obj), "__table__", None) in tables:
            session.expire(obj)


@contextmanager
def _translated(sql: str | None = None, parameters=None) -> Iterator[None]:
    """The driver's errors as SQLAlchemy's, as if the statement had gone through ``Connection.execute``."""
    dbapi_error = db.engine.dialect.loaded_dbapi.Error
    try:
        yield
    except dbapi_error as exc:
        raise DBAPIError.instance(sql, parameters, exc, dbapi_error, dialect=db.engine.dialect) from exc


def rows(stmt: Executable, values: dict) -> list[Record]:
    """The rows of a SELECT, as dicts of converted values."""
    compiled, cursor = _prepare(stmt, values)
    parameters = compiled.parameters(values)
    try:
        with _translated(compiled.sql, parameters):
            cursor.execute(compiled.sql, parameters)
            return [compiled.row(raw) for raw in cursor.fetchall()]
    finally:
        cursor.close()


def first(stmt: Executable, values: dict) -> Record | None:
    found = rows(stmt, values)
    return found[0] if found else None


def execute(stmt: Executable, values: dict, expect: int | None = None,
            otherwise: Callable[[], Exception] | None = None) -> None:
    """Run an INSERT/UPDATE/DELETE once.

    With ``expect``: unless it touched that many rows, raise ``otherwise()`` — at once, or inside a
    pipeline when its answers are in (still before the transaction commits).
    """
    compiled, cursor = _prepare(stmt, values)
    parameters = compiled.parameters(values)
    with _translated(compiled.sql, parameters):
        cursor.execute(compiled.sql, parameters)
    checks = _deferred.get()
    if expect is not None and checks is not None:
        checks.append((cursor, expect, otherwise))
        return
    touched = cursor.rowcount
    cursor.close()  # on PostgreSQL this forgets the row count
    if expect is not None and touched != expect:
        raise otherwise()


def execute_many(stmt: Executable, values: Iterable[dict]) -> None:
    """Run a statement for each of several parameter sets that name the same keys."""
    values = list(values)
    if not values:
        return
    compiled, cursor = _prepare(stmt, values[0])
    parameters = [compiled.parameters(v) for v in values]
    try:
        with _translated(compiled.sql, parameters):
            if len(parameters) == 1:
                cursor.execute(compiled.sql, parameters[0])  # psycopg's executemany costs extra round trips
            else:
                cursor.executemany(compiled.sql, parameters)
    finally:
        cursor.close()


def refuse_in_pipeline(*_) -> None:
    """Hooked before SQLAlchemy's own statements: inside a pipeline their results would not be there yet."""
    if _deferred.get() is not None:
        raise RuntimeError("SQLAlchemy cannot run statements inside prepared.pipelined(); use prepared's functions")


@contextmanager
def pipelined() -> Iterator[None]:
    """Statements run inside are sent without waiting for each answer (PostgreSQL's pipeline mode).

    A read inside waits for the answers before it; errors come out by the end of the block at the
    latest, as SQLAlchemy's exceptions. Elsewhere (SQLite, or a pipeline already open) it does nothing.
    """
    pipeline = getattr(_driver_connection(), "pipeline", None)
    if pipeline is None or _deferred.get() is not None:
        yield
        return
    checks = []
    token = _deferred.set(checks)
    try:
        with _translated(), pipeline():
            yield
        stale = next((otherwise for cursor, expect, otherwise in checks if cursor.rowcount != expect), None)
        if stale is not None:
            raise stale()
    finally:
        _deferred.reset(token)
        for cursor, _, _ in checks:
            cursor.close()
