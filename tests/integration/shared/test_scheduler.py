"""Periodic jobs run once per period across replicas, by whichever replica takes the lease."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from shared.scheduler import take_lease
from tests.support.mechanism import mechanism_database, tables


async def test_only_one_replica_takes_a_lease_at_a_time(database_url: str) -> None:
    async with mechanism_database(database_url) as engine:
        taken = await asyncio.gather(*(take_lease(engine, tables.job_leases, "nightly-sweep", timedelta(hours=1),
                                                  holder=f"replica-{i}") for i in range(4)))
        assert sorted(taken) == [False, False, False, True]
        assert not await take_lease(engine, tables.job_leases, "nightly-sweep", timedelta(hours=1), holder="replica-0")


async def test_a_lease_can_be_taken_again_once_its_period_has_passed(database_url: str) -> None:
    async with mechanism_database(database_url) as engine:
        assert await take_lease(engine, tables.job_leases, "refit", timedelta(milliseconds=200), holder="a")
        assert not await take_lease(engine, tables.job_leases, "refit", timedelta(milliseconds=200), holder="b")
        await asyncio.sleep(0.3)
        assert await take_lease(engine, tables.job_leases, "refit", timedelta(milliseconds=200), holder="b")


async def test_different_jobs_have_independent_leases(database_url: str) -> None:
    async with mechanism_database(database_url) as engine:
        assert await take_lease(engine, tables.job_leases, "rfm", timedelta(hours=1), holder="a")
        assert await take_lease(engine, tables.job_leases, "lifecycle", timedelta(hours=1), holder="a")
