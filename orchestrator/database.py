"""Database behaviour per dialect: SQLite pragmas and write locks, PostgreSQL row locks, upserts."""

from sqlalchemy import Engine, event, select
from sqlalchemy.dialects import postgresql, sqlite

from .extensions import db

IMMEDIATE = "polku_immediate"


def configure_engine(engine: Engine) -> None:
    """SQLite: WAL, foreign keys, and transactions we begin ourselves (so a step can BEGIN IMMEDIATE)."""
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
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def locked(model, key):
    """Load one row for a write: FOR UPDATE on PostgreSQL, the database write lock on SQLite.

    Must open the session's transaction, so any earlier one is ended first.
    """
    if db.session().in_transaction():
        db.session.commit()
    db.session.connection(execution_options={IMMEDIATE: True})
    stmt = select(model).where(model.__mapper__.primary_key[0] == key)
    if db.engine.dialect.name != "sqlite":
        stmt = stmt.with_for_update(of=model)  # eager-joined rows stay unlocked
    return db.session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()


def upsert(model, rows: list[dict], keys: list[str], update: list[str]) -> None:
    if not rows:
        return
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(model).values(rows)
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in update})
    db.session.execute(stmt)
