"""A tiny service schema for testing the shared mechanisms on their own: the platform tables plus a
ledger that event handlers write to, so tests can count effects."""
from __future__ import annotations

import contextlib
from typing import AsyncIterator

from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from shared.bus.consumer import Received
from shared.db import create_engine
from shared.tables import PlatformTables, platform_tables
from shared.uow import UnitOfWork

metadata = MetaData()
tables: PlatformTables = platform_tables(metadata)
ledger = Table(
    "ledger", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(64), nullable=False),
    Column("order_id", String(128), nullable=False),
)


@contextlib.asynccontextmanager
async def mechanism_database(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    try:
        yield engine
    finally:
        await engine.dispose()


def uow_factory(engine: AsyncEngine, on_commit=None):  # type: ignore[no-untyped-def]
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    return lambda: UnitOfWork(sessions, tables.outbox, source="/services/test", on_commit=on_commit)


async def record_in_ledger(uow: UnitOfWork, events: list[Received]) -> None:
    await uow.session.execute(insert(ledger), [
        {"customer_id": e.data.customer_id, "order_id": e.data.order_id} for e in events])  # type: ignore[attr-defined]


async def ledger_count(engine: AsyncEngine, customer_id: str) -> int:
    async with engine.connect() as connection:
        return await connection.scalar(select(func.count()).select_from(ledger).where(ledger.c.customer_id == customer_id))
