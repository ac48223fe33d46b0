"""The one write path, and database behaviour per dialect: SQLite pragmas and write locks, PostgreSQL row
locks, upserts.

Every writer goes through ``write()``. SQLite lets one transaction write at a time, and a transaction
that began as a reader and then writes fails at once ("database is locked") when another wrote
meanwhile: waiting would not help, its snapshot is stale. So a write transaction takes the write lock
before its first read (``BEGIN IMMEDIATE``) and waits a bounded time for it (``busy_timeout``). On
PostgreSQL it is a plain transaction; rows are locked where a writer needs them (``lock``, ``for_update``).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ..extensions import db
from . import _compiled
from .refusal import N_, Refused

IMMEDIATE = "polku_immediate"
WRITING = "polku_writing"  # set in the session's info while a write() is open
FLUSHED = "polku_flushed_outside_write"  # a change written outside write(): the next write() would lose it
BUSY_MS = 10_000  # how long a writer waits for SQLite's write lock before it is refused


def configure_engine(engine: Engine) -> None:
    """SQLite: WAL, foreign keys, and transactions we begin ourselves (so a step can BEGIN IMMEDIATE).

    PostgreSQL: SQLAlchemy's statements are refused inside a pipeline of prepared ones.
    """
    if not event.contains(Session, "after_flush", _flushed):
        event.listen(Session, "after_flush", _flushed)
        event.listen(Session, "after_transaction_end", _ended)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "before_cursor_execute", _compiled.refuse_in_pipeline)
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event emit BEGIN
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL", f"busy_timeout={BUSY_MS}"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()
        _sqlite_functions(dbapi_connection)

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        immediate = conn.get_execution_options().get(IMMEDIATE)
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _sqlite_functions(connection) -> None:
    """What PostgreSQL knows of days and zones, for the metrics' rollups: a UTC time's local day and quarter,
    and a duration's histogram bucket."""
    from ..metrics.periods import first_of_quarter
    from ..metrics.rollups import bucket

    def local(value, zone):
        return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC).astimezone(ZoneInfo(zone))

    def day(value, zone):
        return None if value is None else local(value, zone).date().isoformat()

    def quarter(value, zone):
        return None if value is None else first_of_quarter(local(value, zone).date()).isoformat()

    connection.create_function("polku_day", 2, day, deterministic=True)
    connection.create_function("polku_quarter", 2, quarter, deterministic=True)
    connection.create_function("polku_bucket", 1, bucket, deterministic=True)


def _flushed(session: Session, _context) -> None:
    if not session.info.get(WRITING):
        session.info[FLUSHED] = True


def _ended(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction: what it wrote is committed or gone
        session.info.pop(FLUSHED, None)


@contextmanager
def write() -> Iterator[None]:
    """One write transaction: commits when the block ends, rolls everything back when it raises.

    Whatever the session was reading before ends first (it wrote nothing: changing loaded objects
    before the write began would be lost, so that is refused as a programming error). A write inside
    a write joins it. A writer that waits longer than ``BUSY_MS`` for SQLite's lock is refused (503).
    """
    session = db.session()
    if session.info.get(WRITING):
        yield
        return
    if session.info.get(FLUSHED) or session.new or session.deleted or \
            any(session.is_modified(o) for o in session.dirty):
        raise RuntimeError("changes made before write() began would be lost: make them inside it")
    session.info[WRITING] = True
    try:
        begin_write()
        yield
        session.commit()
        _compiled.expire_written()
    except BaseException as exc:
        session.rollback()  # expires every loaded object anyway
        session.info.pop(_compiled.WRITTEN, None)
        if _busy(exc):
            raise Refused(503, N_("the service is busy; try again in a moment")) from exc
        raise
    finally:
        session.info.pop(WRITING, None)


def found_or_made(query, make: Callable[[], object]):
    """The row ``query`` finds, else the one ``make`` returns, added in a write (of its own, unless one is
    open). Two requests making the same row at once both end with the one that was stored."""
    found = db.session.scalar(query)
    if found is not None:
        return found
    if db.session().info.get(WRITING):
        found = make()
        db.session.add(found)
        db.session.flush()
        return found
    try:
        with write():
            found = db.session.scalar(query)  # made meanwhile by a writer that held the lock first
            if found is None:
                found = make()
                db.session.add(found)
    except IntegrityError:  # made at the same moment by another (PostgreSQL): theirs is the one
        found = db.session.scalar(query)
    return found


def begin_write() -> None:
    """Start a write transaction (``write()`` does; it also commits): on SQLite it takes the write lock at once."""
    if db.session().in_transaction():
        db.session.rollback()
    db.session.connection(execution_options={IMMEDIATE: True})


def _busy(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


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
