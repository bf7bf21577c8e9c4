"""Inbox: the ids of processed events, written in the same transaction as their effect."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import Column, MetaData, String, Table, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import UTCDateTime, utcnow


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

    A concurrent claim of the same id by another replica (during a rebalance) fails the
    transaction on the primary key, and the retry then sees the id as processed.
    """
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return set()
    seen: set[tuple[str, str]] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        rows = await session.execute(
            select(table.c.source, table.c.event_id).where(tuple_(table.c.source, table.c.event_id).in_(chunk))
        )
        seen.update((row.source, row.event_id) for row in rows)
    fresh = [key for key in wanted if key not in seen]
    if fresh:
        now = utcnow()
        await session.execute(
            insert(table), [{"source": source, "event_id": event_id, "processed_at": now} for source, event_id in fresh]
        )
    return set(fresh)
