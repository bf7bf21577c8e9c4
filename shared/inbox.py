"""Inbox: the ids of processed events, written in the same transaction as their effect."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import Column, MetaData, String, Table, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import UTCDateTime, dialect_insert, utcnow


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("source", String(200), primary_key=True),
        Column("event_id", String(200), primary_key=True),
        Column("processed_at", UTCDateTime, nullable=False),
    )


async def claim_new(session: AsyncSession, table: Table, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Record the (source, id) pairs not seen before and return them; the rest are duplicates.

    One INSERT ... ON CONFLICT DO NOTHING RETURNING per batch: the ids it returns are the new ones.
    A concurrent claim of the same id by another replica (during a rebalance) waits for that
    transaction and then sees the id as processed.
    """
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return set()
    now = utcnow()
    if session.bind.dialect.name == "postgresql":  # arrays through unnest: one statement text, prepared once
        sources, event_ids = (list(column) for column in zip(*wanted))
        rows = await session.execute(text(
            f"INSERT INTO {table.name} (source, event_id, processed_at) "
            "SELECT s, e, :now FROM unnest(CAST(:sources AS varchar[]), CAST(:event_ids AS varchar[])) AS u(s, e) "
            "ON CONFLICT DO NOTHING RETURNING source, event_id"),
            {"now": now, "sources": sources, "event_ids": event_ids})
        return {(row.source, row.event_id) for row in rows}
    statement = dialect_insert(session.bind.dialect.name, table).on_conflict_do_nothing()
    rows = await session.execute(
        statement.returning(table.c.source, table.c.event_id),
        [{"source": source, "event_id": event_id, "processed_at": now} for source, event_id in wanted],
    )
    return {(row.source, row.event_id) for row in rows}
