"""Two replicas of scoring in one consumer group, both working, one killed with SIGKILL: its partitions move to
the other, which counts every order once; nothing lost, nothing doubled."""
from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.support.apps import TEST_API_KEYS
from tests.support.faults import ScoringProgress, consumed
from tests.support.kafka import eventually
from tests.support.processes import ServiceProcess, start_service, wait_until_ready
from tests.support.purchases import expected_totals, orders, publish_orders, scoring_totals

FAST_REJOIN = {"CONSUMER_SESSION_TIMEOUT_MS": "3000", "CONSUMER_BATCH_SIZE": "200"}


async def test_a_killed_replica_hands_its_partitions_to_the_other_and_no_order_is_lost_or_doubled(
        own_broker: str, database_url: str, tmp_path: Path) -> None:
    stream = orders(30_000, customers=2_000, seed=11, prefix="replica")
    replicas: list[ServiceProcess] = []
    progress = ScoringProgress(database_url)
    try:
        for name in ("a", "b"):  # one after the other, as a rollout starts them: the first migrates the database
            workdir = tmp_path / name
            workdir.mkdir()
            replicas.append(start_service("scoring", database_url=database_url, broker=own_broker,
                                          api_keys=TEST_API_KEYS, workdir=workdir, extra_env=FAST_REJOIN))
            wait_until_ready(replicas[-1])
        publishing = asyncio.create_task(publish_orders(own_broker, stream))
        killed, survivor = replicas
        async with httpx.AsyncClient(timeout=5) as http:
            async def both_working() -> bool:
                counts = [consumed((await http.get(f"{r.url}/metrics")).text) for r in replicas]
                return all(count > 0 for count in counts)
            await eventually(both_working, timeout=120, interval=0.1)  # each holds partitions
            killed.kill()
            counted_at_kill = await progress.counted()
            await publishing
            await eventually(lambda: _counted(progress, len(stream)), timeout=300, interval=0.5)
            survivor_consumed = consumed((await http.get(f"{survivor.url}/metrics")).text)
        totals = await scoring_totals(database_url)
    finally:
        for replica in replicas:
            replica.stop()
        await progress.close()
    assert counted_at_kill < len(stream)
    assert survivor_consumed >= len(stream) - counted_at_kill  # the rest, the killed one's partitions included
    assert totals == expected_totals(stream)


async def _counted(progress: ScoringProgress, count: int) -> bool:
    return await progress.counted() >= count
