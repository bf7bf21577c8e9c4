"""Profile benchmarks on PostgreSQL (BENCH_DATABASE_URL; a fresh database is made on that server):
segment count over 1M customers / 10M purchases, GET /customers/{id} latency at 1,000 requests/s, and
ingestion of purchase-recorded from Kafka. Without BENCH_DATABASE_URL they run on SQLite, smaller."""
from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from aiokafka import AIOKafkaProducer, ConsumerRecord
from sqlalchemy import func, select, text

from bench.results import BenchResult
from services.profile.app import create_app
from services.profile.models import Purchase
from services.profile.segment_handlers import CONDITION, preview
from services.profile.settings import ProfileSettings
from shared.devbroker import start_broker
from shared.events.catalogue import PurchaseRecordedV1
from shared.events.envelope import encode, new_event
from tools.scratch_databases import fresh_database

RULE = {"all": [{"field": "region", "op": "eq", "value": "north"},
                {"attribute": "shoe_size", "op": "gte", "value": 40},
                {"purchases": {"metric": "count", "days": 90, "op": "gte", "value": 2}}]}


def run(quick: bool) -> list[BenchResult]:
    return asyncio.run(_run(quick))


async def _run(quick: bool) -> list[BenchResult]:
    server = os.environ.get("BENCH_DATABASE_URL")
    customers, purchases = (100_000, 1_000_000) if quick else (1_000_000, 10_000_000)
    if not server:
        customers, purchases = 20_000, 200_000
    with tempfile.TemporaryDirectory() as scratch:
        broker = start_broker(log_path=Path(scratch) / "broker.log")
        try:
            async with _database(server, scratch) as url:
                settings = ProfileSettings(environment="test", database_url=url, db_pool_size=20,
                                           kafka_bootstrap_servers=broker.bootstrap_servers,
                                           consumer_group=f"bench-{uuid.uuid4().hex[:6]}",
                                           rate_limit_per_second=100_000, rate_limit_burst=100_000)
                return await _measure(settings, customers, purchases, quick)
        finally:
            broker.stop()


async def _measure(settings: ProfileSettings, customers: int, purchases: int, quick: bool) -> list[BenchResult]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        seconds = await _seed(app.state.engine, customers, purchases)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                     headers={"Authorization": "Bearer cvp-dev-key"}) as http:
            results = [_report(await _segment_count(app, customers, purchases, seconds))]
            results.append(_report(await _customer_latency(http, customers, duration=3 if quick else 10)))
        results.append(_report(await _apply_rate(app, settings, 20_000 if quick else 200_000)))
        results.append(_report(await _ingestion(app, settings, 20_000 if quick else 200_000)))
    return results


def _report(result: BenchResult) -> BenchResult:
    print(f"{result.name}: {result.figure} {result.unit} (target {result.target})", flush=True)
    return result


def _database(server: str | None, scratch: str):  # type: ignore[no-untyped-def]
    return fresh_database(server, scratch, prefix="bench_profile")


async def _seed(engine: Any, customers: int, purchases: int) -> float:
    """Customers b-1..b-N in four regions with a shoe size; orders spread over two years."""
    started = time.perf_counter()
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await _seed_postgresql(connection, customers, purchases)
        else:
            await _seed_sqlite(connection, customers, purchases)
        await connection.execute(text("INSERT INTO attribute_definitions (name, type, created_at) "
                                      "VALUES ('shoe_size', 'number', CURRENT_TIMESTAMP)"))
    async with engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
    return time.perf_counter() - started


async def _seed_postgresql(connection: Any, customers: int, purchases: int) -> None:
    await connection.execute(text(
        "INSERT INTO customers (customer_id, region, country, attributes, do_not_contact, created_at, updated_at) "
        "SELECT 'b-' || g, (ARRAY['north','south','east','west'])[1 + g % 4], 'FR', "
        "json_build_object('shoe_size', 35 + g % 12), false, now(), now() FROM generate_series(1, :n) g"),
        {"n": customers})
    await connection.execute(text(
        "INSERT INTO purchases (source, order_id, customer_id, occurred_at, total_amount, currency, channel, "
        "recorded_at) SELECT 'bench', 'o-' || g, 'b-' || (1 + (g::bigint * 7919) % :n), "
        "now() - ((g % 730) || ' days')::interval, (g % 200) + 0.99, 'EUR', 'web', now() "
        "FROM generate_series(1, :m) g"), {"n": customers, "m": purchases})


async def _seed_sqlite(connection: Any, customers: int, purchases: int) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    regions = ["north", "south", "east", "west"]
    await connection.execute(text(
        "INSERT INTO customers (customer_id, region, country, attributes, do_not_contact, created_at, updated_at) "
        "VALUES (:id, :region, 'FR', :attributes, 0, :now, :now)"),
        [{"id": f"b-{g}", "region": regions[g % 4], "attributes": f'{{"shoe_size": {35 + g % 12}}}', "now": now}
         for g in range(1, customers + 1)])
    owners = 1 + (np.arange(1, purchases + 1, dtype=np.int64) * 7919) % customers
    await connection.execute(text(
        "INSERT INTO purchases (source, order_id, customer_id, occurred_at, total_amount, currency, channel, "
        "recorded_at) VALUES ('bench', :order_id, :customer_id, :at, :amount, 'EUR', 'web', :now)"),
        [{"order_id": f"o-{g}", "customer_id": f"b-{owner}", "at": now - timedelta(days=g % 730),
          "amount": (g % 200) + 0.99, "now": now} for g, owner in enumerate(owners.tolist(), start=1)])


async def _segment_count(app: Any, customers: int, purchases: int, seed_seconds: float) -> BenchResult:
    rule = CONDITION.validate_python(RULE)
    timings = []
    for _ in range(3):
        async with app.state.unit_of_work() as uow:
            started = time.perf_counter()
            count, _ = await preview(uow.session, rule)
            timings.append(time.perf_counter() - started)
    best, database = min(timings), app.state.engine.dialect.name
    return BenchResult(
        name="profile: segment count (attributes + 90-day purchase window)", figure=round(best, 3), unit="s",
        target="<= 1 s on PostgreSQL at 1M customers / 10M purchases", passed=best <= 1.0,
        comparison=f"{customers:,} customers, {purchases:,} purchases, {database}; best of 3 (count + sample)",
        details={"members": count, "timings_s": [round(t, 3) for t in timings], "seed_s": round(seed_seconds, 1),
                 "rule": RULE})


async def _customer_latency(http: httpx.AsyncClient, customers: int, *, duration: int) -> BenchResult:
    """Open loop: a request every millisecond whatever the previous ones are doing (at most 256 in
    flight; a request that fails or finds no room counts against the target)."""
    rate, latencies, failed = 1000, [], 0
    in_flight = asyncio.Semaphore(256)
    rng = np.random.default_rng(7)

    async def one(customer_id: str) -> None:
        nonlocal failed
        async with in_flight:
            started = time.perf_counter()
            try:
                response = await http.get(f"/customers/{customer_id}")
                ok = response.status_code == 200
            except Exception:
                ok = False
            latencies.append(time.perf_counter() - started)
            failed += not ok

    tasks = []
    started = time.perf_counter()
    for n, customer in enumerate(rng.integers(1, customers + 1, size=rate * duration).tolist()):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(f"b-{customer}")))
    await asyncio.gather(*tasks)
    achieved = (len(latencies) - failed) / (time.perf_counter() - started)
    p50, p99 = (float(np.percentile(latencies, q)) * 1000 for q in (50, 99))
    return BenchResult(
        name="profile: GET /customers/{id} (360 view) p99 at 1,000 requests/s", figure=round(p99, 2), unit="ms",
        target="<= 10 ms", passed=p99 <= 10 and achieved >= 0.95 * rate and not failed,
        comparison=f"{len(latencies):,} requests over {duration}s, open loop, in-process ASGI, one process "
                   f"({os.cpu_count()} cores)",
        details={"p50_ms": round(p50, 2), "achieved_rps": round(achieved), "failed": failed})


def _orders(events: int, prefix: str) -> list[bytes]:
    occurred = datetime.now(UTC) - timedelta(days=1)
    return [encode(new_event(PurchaseRecordedV1(
        order_id=f"{prefix}-{n}", customer_id=f"b-{1 + n % 50_000}", occurred_at=occurred, total_amount="12.50",  # type: ignore[arg-type]
        currency="EUR", channel="web"), source=f"bench-{prefix}")) for n in range(events)]


async def _apply_rate(app: Any, settings: ProfileSettings, events: int) -> BenchResult:
    """The consumer's own share: decode, inbox, handler and commit of batches handed to it in memory."""
    records = [ConsumerRecord("purchase-recorded", 0, offset, 0, 0, f"b-{1 + offset % 50_000}".encode(), value,
                              None, 8, len(value), []) for offset, value in enumerate(_orders(events, "mem"))]
    batch = settings.consumer_batch_size
    started = time.perf_counter()
    for start in range(0, events, batch):
        await app.state.consumer.process(records[start:start + batch])
    seconds = time.perf_counter() - started
    rate = events / seconds
    return BenchResult(
        name="profile: purchase-recorded applied by the consumer (broker excluded)", figure=round(rate),
        unit="events/s", target=">= 20,000 events/s", passed=rate >= 20_000,
        comparison=f"{events:,} records handed to ConsumerRunner.process in batches of {batch}, "
                   f"{app.state.engine.dialect.name}",
        details={"seconds": round(seconds, 2)})


async def _ingestion(app: Any, settings: ProfileSettings, events: int) -> BenchResult:
    """Publish `events` orders from an external system, then time the consumer applying them."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, linger_ms=20,
                                max_batch_size=1_000_000)
    await producer.start()
    try:
        for n, value in enumerate(_orders(events, "shop")):
            await producer.send("purchase-recorded", value, key=f"b-{1 + n % 50_000}".encode())
        await producer.flush()
    finally:
        await producer.stop()
    started, applied = time.perf_counter(), 0
    while applied < events and time.perf_counter() - started < 600:
        await asyncio.sleep(0.2)
        async with app.state.engine.connect() as connection:
            applied = await connection.scalar(select(func.count()).select_from(Purchase)
                                              .where(Purchase.source == "bench-shop"))
    seconds = time.perf_counter() - started
    rate = applied / seconds
    return BenchResult(
        name="profile: purchase-recorded ingested from Kafka", figure=round(rate), unit="events/s",
        target=">= 20,000 events/s", passed=rate >= 20_000 and applied == events,
        comparison=f"{events:,} events already on the topic, {settings.kafka_topic_partitions} partitions, "
                   f"one consumer, batches of {settings.consumer_batch_size}, {app.state.engine.dialect.name}, "
                   "through the local dev broker (Tansu), not Apache Kafka",
        details={"applied": applied, "seconds": round(seconds, 2)})
