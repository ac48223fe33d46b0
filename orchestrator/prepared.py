"""Statements a step runs on every call, executed on the driver's cursor inside the session's transaction.

A step runs about ten small statements. Through ``Connection.execute`` each costs roughly ten
times the statement itself (parameter handling, result metadata, events), which made the
database layer most of a task completion. Here a Core statement is compiled once per set of
parameter names, with SQLAlchemy's own bind and result processors for its column types (JSON,
aware datetimes), and each call is one ``cursor.execute``/``executemany`` on the same DB-API
connection, so it takes part in the transaction SQLAlchemy began.

Only for statements whose parameters are all given by the caller: no column defaults, no
expanding ``IN`` lists.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Dialect
from sqlalchemy.sql import Executable

from .extensions import db


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


def _prepare(stmt: Executable, values: dict):
    compiled = _compile(stmt, tuple(values), db.engine.dialect)
    cursor = db.session.connection().connection.driver_connection.cursor()
    return compiled, cursor


def rows(stmt: Executable, values: dict) -> list[Record]:
    """The rows of a SELECT, as dicts of converted values."""
    compiled, cursor = _prepare(stmt, values)
    try:
        cursor.execute(compiled.sql, compiled.parameters(values))
        return [compiled.row(raw) for raw in cursor.fetchall()]
    finally:
        cursor.close()


def first(stmt: Executable, values: dict) -> Record | None:
    found = rows(stmt, values)
    return found[0] if found else None


def execute(stmt: Executable, values: dict) -> int:
    """Run an INSERT/UPDATE/DELETE once; returns the number of rows it touched."""
    compiled, cursor = _prepare(stmt, values)
    try:
        cursor.execute(compiled.sql, compiled.parameters(values))
        return cursor.rowcount
    finally:
        cursor.close()


def execute_many(stmt: Executable, values: Iterable[dict]) -> None:
    """Run a statement for each of several parameter sets that name the same keys."""
    values = list(values)
    if not values:
        return
    compiled, cursor = _prepare(stmt, values[0])
    try:
        cursor.executemany(compiled.sql, [compiled.parameters(v) for v in values])
    finally:
        cursor.close()
