"""Alembic migrations per service, run on SQLite and PostgreSQL alike."""
from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine


def alembic_config(script_location: Path, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade_to_head(engine: AsyncEngine, script_location: Path) -> None:
    async with _sqlite_file_lock(engine):
        await _upgrade(engine, script_location)


@contextlib.asynccontextmanager
async def _sqlite_file_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """Replicas sharing one SQLite file take turns through a lock file beside it (SQLite has no lock that
    lasts from reading the schema version to the end of the migration's DDL)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as lock:
        await asyncio.to_thread(fcntl.flock, lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


async def _upgrade(engine: AsyncEngine, script_location: Path) -> None:
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Replicas starting together take turns; the second finds nothing left to do.
            lock = zlib.crc32(str(script_location.name).encode()) & 0x7FFFFFFF
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock})
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(script_location, sync), "head"))


def run_env(context: Any, target_metadata: MetaData) -> None:
    """Body of each service's migrations/env.py."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(context, connection, target_metadata)
        return
    url = context.config.get_main_option("sqlalchemy.url") or os.environ["DATABASE_URL"]

    async def run_with_own_engine() -> None:
        engine = create_engine(url)
        async with engine.begin() as own:
            await own.run_sync(lambda sync: _run(context, sync, target_metadata))
        await engine.dispose()

    asyncio.run(run_with_own_engine())


def _run(context: Any, connection: Connection, target_metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
