"""A consumer killed with SIGKILL in the middle of its batches, again and again, while 100,000 purchases flow
on Kafka: when the stream has been worked through, every customer's aggregates are exactly what the published
orders add up to (a replayed batch is dropped by the inbox and the orders' natural keys)."""
from __future__ import annotations

import asyncio
import random
from pathlib import Path

from tests.support.apps import TEST_API_KEYS
from tests.support.faults import ScoringProgress
from tests.support.kafka import eventually
from tests.support.processes import ServiceProcess, start_service, wait_until_ready
from tests.support.purchases import expected_totals, orders, publish_orders, scoring_totals

EVENTS = 100_000
KILLS = 20
FAST_REJOIN = {"CONSUMER_SESSION_TIMEOUT_MS": "3000"}  # a dead member's partitions move on after 3 s


async def test_scoring_killed_twenty_times_mid_batch_still_counts_each_of_100k_orders_once(
        own_broker: str, database_url: str, tmp_path: Path) -> None:
    stream = orders(EVENTS, customers=5_000, seed=20261124, prefix="kill")
    start = lambda: start_service("scoring", database_url=database_url, broker=own_broker,  # noqa: E731
                                  api_keys=TEST_API_KEYS, workdir=tmp_path, extra_env=FAST_REJOIN)
    scoring: ServiceProcess = start()
    wait_until_ready(scoring)  # its topics exist, with their partitions
    publishing = asyncio.create_task(publish_orders(own_broker, stream))
    progress = ScoringProgress(database_url)
    rng = random.Random(7)
    counted_at_kills: list[int] = []
    try:
        for _ in range(KILLS):
            before = await progress.counted()
            # This life has committed at least one batch of its own: kill it a moment later, inside the next.
            await eventually(lambda: _more_than(progress, before), timeout=120, interval=0.05)
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            scoring.kill()
            counted_at_kills.append(await progress.counted())
            scoring = start()
        assert await publishing == EVENTS
        expected = expected_totals(stream)
        await eventually(lambda: _counted_all(progress, len(stream)), timeout=300, interval=0.5)
        totals = await scoring_totals(database_url)
    finally:
        scoring.stop()
        await progress.close()
    assert counted_at_kills[-1] < EVENTS, "the stream was worked through before the last kill"
    assert len(counted_at_kills) == KILLS
    assert totals == expected, f"{sum(a != expected.get(c) for c, a in totals.items())} customers differ"


async def _more_than(progress: ScoringProgress, count: int) -> bool:
    return await progress.counted() > count


async def _counted_all(progress: ScoringProgress, count: int) -> bool:
    return await progress.counted() >= count
