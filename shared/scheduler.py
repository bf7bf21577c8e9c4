"""Periodic jobs that run once per interval across all replicas, coordinated by a lease row."""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import timedelta
from typing import Awaitable, Callable

from fastapi import FastAPI
from sqlalchemy import Column, MetaData, String, Table, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import UTCDateTime, utcnow

log = logging.getLogger(__name__)

Job = Callable[[FastAPI], Awaitable[None]]
_HOLDER = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def job_leases_table(metadata: MetaData) -> Table:
    return Table(
        "job_leases",
        metadata,
        Column("name", String(100), primary_key=True),
        Column("holder", String(200), nullable=False),
        Column("lease_until", UTCDateTime, nullable=False),
    )


async def take_lease(engine: AsyncEngine, table: Table, name: str, period: timedelta, holder: str = _HOLDER) -> bool:
    """True when this replica may run `name` now; the lease then keeps others off for `period`."""
    now = utcnow()
    async with engine.begin() as connection:
        taken = await connection.execute(
            update(table).where(table.c.name == name, table.c.lease_until <= now)
            .values(holder=holder, lease_until=now + period))
        if taken.rowcount == 1:
            return True
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(table).values(name=name, holder=holder, lease_until=now + period))
        return True
    except IntegrityError:
        return False  # another replica holds it


def periodic(name: str, every: timedelta, job: Job, *, check_interval: float | None = None) -> Job:
    """A background job for ServiceDefinition.background_jobs: runs `job` every `every`, on one replica."""

    async def loop(app: FastAPI) -> None:
        table = app.state.tables.job_leases
        pause = check_interval if check_interval is not None else min(every.total_seconds(), 30.0)
        while True:
            try:
                if await take_lease(app.state.engine, table, name, every):
                    await job(app)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("periodic job failed; it runs again next period", extra={"job": name})
            await asyncio.sleep(pause)

    loop.__name__ = f"periodic-{name}"
    return loop
