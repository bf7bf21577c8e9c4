"""Database mechanism: async engines for SQLite and PostgreSQL, UTC timestamps."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, DateTime, Integer, any_, bindparam, event, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.types import TypeDecorator

#: Auto-incrementing 64-bit key that SQLite also auto-increments (it only does so for INTEGER).
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back timezone-aware values, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def create_engine(database_url: str, *, pool_size: int = 10, max_overflow: int | None = None,
                  isolation_level: str | None = None, pre_ping: bool = True) -> AsyncEngine:
    """An engine whose errors never quote the statement's parameters: those can be personal data, and errors are logged.

    `isolation_level="AUTOCOMMIT"` makes an engine for reads that need no transaction (no BEGIN and
    ROLLBACK around them). Without `pre_ping`, a connection is not tested when it is checked out (a
    round trip saved per use); a statement on a connection the server dropped then fails with
    `connection_invalidated` set, and the caller may retry once on a fresh one. Up to `max_overflow`
    (by default `pool_size`) connections more are opened under a burst and closed again when returned.
    The pool hands out the connection returned last: a few warm connections serve a steady load, with
    their prepared statements planned and their server processes' caches hot, and the rest stay idle."""
    url = make_url(database_url)
    options = {"isolation_level": isolation_level} if isolation_level else {}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True, **options)
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        if isolation_level != "AUTOCOMMIT":
            event.listen(engine.sync_engine, "before_cursor_execute", _begin_before_leading_with)
        return engine
    return create_async_engine(url, pool_size=pool_size, pool_pre_ping=pre_ping, pool_use_lifo=True,
                               max_overflow=pool_size if max_overflow is None else max_overflow,
                               hide_parameters=True, **options)


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the HTTP handlers read while the consumer and the outbox relay write.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_before_leading_with(connection: Any, cursor: Any, statement: str, _parameters: Any, context: Any,
                               _executemany: bool) -> None:
    # Python's sqlite3 opens a transaction only before a statement that starts with INSERT, UPDATE, DELETE
    # or REPLACE. A write that starts with WITH (the CTE SQLAlchemy puts in front of an INSERT ... SELECT)
    # would run outside any transaction, visible to everybody at once and kept on rollback: open one first.
    if context is not None and (context.isinsert or context.isupdate or context.isdelete) \
            and statement.lstrip()[:4].upper() == "WITH" and not connection.connection.driver_connection.in_transaction:
        cursor.execute("BEGIN")


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def dialect_insert(dialect_name: str, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT, for the dialect in use (both SQLite and PostgreSQL do)."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def one_of(dialect_name: str, column: Any, values: list[Any]) -> ColumnElement[bool]:
    """`column IN values`, kept one prepared statement on PostgreSQL whatever the number of values
    (`= ANY(array)`)."""
    if dialect_name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]
