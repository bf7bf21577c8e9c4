"""Stored answers to Idempotency-Keys are kept for the retry window only: they can hold personal data."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import MetaData, func, insert, select

from shared.db import create_engine, utcnow
from shared.http.idempotency import forget_old_answers, idempotency_table


async def test_answers_older_than_the_retention_are_forgotten_and_newer_ones_kept(database_url: str) -> None:
    table = idempotency_table(MetaData())
    engine = create_engine(database_url)
    now = utcnow()
    try:
        async with engine.begin() as connection:
            await connection.run_sync(table.metadata.create_all)
            await connection.execute(insert(table), [
                {"principal": "k", "key": key, "method": "POST", "path": "/responses", "fingerprint": "f",
                 "status": 201, "body": b'{"comment": "call me on +33612345678"}', "created_at": now - age}
                for key, age in (("old", timedelta(hours=30)), ("recent", timedelta(hours=2)))])
        forgotten = await forget_old_answers(engine, table, timedelta(hours=24))
        async with engine.connect() as connection:
            kept = (await connection.execute(select(table.c.key))).scalars().all()
            count = (await connection.execute(select(func.count()).select_from(table))).scalar_one()
    finally:
        await engine.dispose()
    assert forgotten == 1
    assert (kept, count) == (["recent"], 1)
