"""Database behaviour per dialect: SQLite pragmas and write locks, PostgreSQL row locks, upserts."""

from functools import lru_cache

from sqlalchemy import Engine, event, select
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from . import _compiled

IMMEDIATE = "polku_immediate"


def configure_engine(engine: Engine) -> None:
    """SQLite: WAL, foreign keys, and transactions we begin ourselves (so a step can BEGIN IMMEDIATE).

    PostgreSQL: SQLAlchemy's statements are refused inside a pipeline of prepared ones.
    """
    if engine.dialect.name == "postgresql":
        event.listen(engine, "before_cursor_execute", _compiled.refuse_in_pipeline)
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event emit BEGIN
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL", "busy_timeout=10000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        immediate = conn.get_execution_options().get(IMMEDIATE)
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_write() -> None:
    """Start a write transaction: on SQLite it takes the database write lock at once.

    Whatever the session was reading before ends first (it wrote nothing).
    """
    if db.session().in_transaction():
        db.session.rollback()
    db.session.connection(execution_options={IMMEDIATE: True})


@lru_cache(maxsize=32)
def _locking(stmt, of: tuple, skip_locked: bool):
    return stmt.with_for_update(of=list(of) or None, skip_locked=skip_locked)


def for_update(stmt, of: tuple = (), skip_locked: bool = False):
    """A prebuilt SELECT that locks the rows it reads on PostgreSQL; SQLite holds the whole database anyway.

    The locking form is built once per statement, so statements compiled once stay compiled once.
    """
    return stmt if db.engine.dialect.name == "sqlite" else _locking(stmt, of, skip_locked)


def lock(model, key):
    """Load one row inside a write transaction: FOR UPDATE on PostgreSQL (SQLite holds the whole database)."""
    stmt = select(model).where(model.__mapper__.primary_key[0] == key)
    if db.engine.dialect.name != "sqlite":
        stmt = stmt.with_for_update(of=model)  # eager-joined rows stay unlocked
    return db.session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()


def core():
    """The session's connection, for plain table writes.

    The projection writes rows the ORM has no business tracking; going through Core skips the
    ORM's bulk machinery, about ten times the cost of the statement itself.
    """
    return db.session.connection()


def upsert(model, rows: list[dict], keys: list[str], update: list[str]) -> None:
    """Insert or update rows, as one executemany of a statement built once per table."""
    if rows:
        _compiled.execute_many(_upsert_statement(db.engine.dialect.name, model.__table__, tuple(keys), tuple(update)),
                              rows)


@lru_cache(maxsize=32)
def _upsert_statement(dialect_name: str, table, keys: tuple[str, ...], update: tuple[str, ...]):
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    return stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in update})


def insert_rows(model, rows: list[dict]) -> None:
    """Insert rows that name every column they fill (column defaults are not applied)."""
    _compiled.execute_many(_insert_statement(model.__table__), rows)


@lru_cache(maxsize=32)
def _insert_statement(table):
    return table.insert()
