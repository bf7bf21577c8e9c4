"""Profile benchmarks on PostgreSQL (BENCH_DATABASE_URL; a fresh database is made on that server):
segment count over 1M customers / 10M purchases, GET /customers/{id} latency at 1,000 requests/s
against the service run as deployed (its own process), and ingestion of purchase-recorded from Kafka
next to a bare aiokafka consume loop over the same topic. Without BENCH_DATABASE_URL they run on
SQLite, smaller."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import LargeBinary, String

from bench.open_loop import open_loop
from bench.results import BenchResult
from services.profile.app import create_app
from services.profile.models import Purchase
from services.profile.segment_handlers import CONDITION, preview
from services.profile.settings import ProfileSettings
from shared.db import create_engine
from shared.devbroker import free_port, start_broker
from shared.events.catalogue import PurchaseRecordedV1
from shared.events.envelope import encode, new_event
from tools.scratch_databases import fresh_database

RULE = {"all": [{"field": "region", "op": "eq", "value": "north"},
                {"attribute": "shoe_size", "op": "gte", "value": 40},
                {"purchases": {"metric": "count", "days": 90, "op": "gte", "value": 2}}]}


LATENCY_POOL = 20_000  # customers the latency test reads, with sealed personal data, tags, consents, items
API_KEY = "cvp-dev-key"


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
                # The bench drives the consumer itself, so that ingestion is timed from an idle start.
                settings = ProfileSettings(environment="test", database_url=url, db_pool_size=20,
                                           kafka_bootstrap_servers=broker.bootstrap_servers,
                                           consumer_group=f"bench-{uuid.uuid4().hex[:6]}", consumer_enabled=False,
                                           rate_limit_per_second=100_000, rate_limit_burst=100_000)
                return await _measure(settings, customers, purchases, quick, Path(scratch))
        finally:
            broker.stop()


async def _measure(settings: ProfileSettings, customers: int, purchases: int, quick: bool,
                   scratch: Path) -> list[BenchResult]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        seconds = await _seed(app, customers, purchases)
        results = [_report(await _segment_count(app, customers, purchases, seconds))]
        results.append(_report(await _customer_latency(settings, min(customers, LATENCY_POOL), scratch,
                                                       duration=5 if quick else 10)))
        results.append(_report(await _apply_rate(app, settings, 20_000 if quick else 100_000)))
        ingested = await _ingestion(app, settings, 40_000 if quick else 200_000)
        results.extend(_report(r) for r in ingested)
        results.append(_report(await _ingestion_by_replicas(settings, scratch, 40_000 if quick else 200_000,
                                                            ingested[-1])))
    return results


def _report(result: BenchResult) -> BenchResult:
    print(f"{result.name}: {result.figure} {result.unit} (target {result.target})", flush=True)
    return result


def _database(server: str | None, scratch: str):  # type: ignore[no-untyped-def]
    return fresh_database(server, scratch, prefix="bench_profile")


async def _seed(app: Any, customers: int, purchases: int) -> float:
    """Customers b-1..b-N in four regions with a shoe size; orders spread over two years. The first
    LATENCY_POOL customers also get personal data, tags, consents, an external id, order lines and scores."""
    engine = app.state.engine
    started = time.perf_counter()
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await _seed_postgresql(connection, customers, purchases)
        else:
            await _seed_sqlite(connection, customers, purchases)
        await connection.execute(text("INSERT INTO attribute_definitions (name, type, created_at) "
                                      "VALUES ('shoe_size', 'number', CURRENT_TIMESTAMP)"))
        await _seed_details(connection, app.state.vault, min(customers, LATENCY_POOL))
    # What autovacuum does to a table after a bulk load: statistics, and the visibility map that
    # lets index-only scans skip the heap.
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    return time.perf_counter() - started


async def _seed_postgresql(connection: Any, customers: int, purchases: int) -> None:
    """Loaded the way a dump is restored: the rows first, then the migrations' indexes and
    constraints rebuilt with one sort each instead of being maintained row by row."""
    await connection.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    rebuild = [*await _set_aside_indexes(connection, "customers"), *await _set_aside_indexes(connection, "purchases")]
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
    for statement in rebuild:
        await connection.execute(text(statement))


async def _set_aside_indexes(connection: Any, table: str) -> list[str]:
    """Drop the table's secondary indexes and its unique and foreign-key constraints; returns the
    statements that put them back as they were."""
    constraints = (await connection.execute(text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = CAST(:table AS regclass) AND contype IN ('u', 'f')"), {"table": table})).all()
    indexes = (await connection.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = :table "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = CAST(:table AS regclass))"),
        {"table": table})).all()
    for name, _ in constraints:
        await connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        await connection.execute(text(f'DROP INDEX "{name}"'))
    return [definition for _, definition in indexes] + [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for name, definition in constraints]


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


async def _seed_details(connection: Any, vault: Any, pool: int) -> None:
    """What a real 360 view opens and lists: sealed personal data (sealed here, as the service seals it),
    two tags, an external id, two consents, an order line per order, scores and an NPS answer."""
    ids = [f"b-{g}" for g in range(1, pool + 1)]
    blobs = [vault.seal(customer_id, {"given_name": "Ada", "family_name": f"Lovelace {n}",
                                      "email": f"ada{n}@example.com", "phone": "+33612345678"})
             for n, customer_id in enumerate(ids)]
    if connection.dialect.name == "postgresql":
        await connection.execute(text(
            "UPDATE customers c SET personal_data = d.blob FROM unnest(:ids, :blobs) AS d(id, blob) "
            "WHERE c.customer_id = d.id").bindparams(bindparam("ids", type_=ARRAY(String)),
                                                     bindparam("blobs", type_=ARRAY(LargeBinary))),
            {"ids": ids, "blobs": blobs})
    else:
        await connection.execute(text("UPDATE customers SET personal_data = :blob WHERE customer_id = :id"),
                                 [{"id": i, "blob": b} for i, b in zip(ids, blobs)])
    pool_cte = ("WITH RECURSIVE pool(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM pool WHERE n < :pool), "
                "chosen(customer_id) AS (SELECT customer_id FROM customers WHERE customer_id IN "
                "(SELECT 'b-' || n FROM pool)) ")
    for statement in (
        "INSERT INTO customer_tags (customer_id, tag) SELECT customer_id, 'vip' FROM chosen "
        "UNION ALL SELECT customer_id, 'newsletter' FROM chosen",
        "INSERT INTO customer_external_ids (customer_id, source, external_id) "
        "SELECT customer_id, 'shop', 'ext-' || customer_id FROM chosen",
        "INSERT INTO customer_consents (customer_id, channel, purpose, granted, source, occurred_at) "
        "SELECT customer_id, 'email', 'marketing', true, 'bench', CURRENT_TIMESTAMP FROM chosen "
        "UNION ALL SELECT customer_id, 'sms', 'service', false, 'bench', CURRENT_TIMESTAMP FROM chosen",
        "INSERT INTO purchase_items (purchase_id, line_no, sku, name, category, quantity, unit_price) "
        "SELECT id, 1, 'SKU-' || (id % 50), 'Item', 'category-' || (id % 7), 1 + id % 3, total_amount "
        "FROM purchases WHERE customer_id IN (SELECT customer_id FROM chosen)",
        "INSERT INTO customer_scores (customer_id, tier, clv, clv_currency, tier_at) "
        "SELECT customer_id, 'high-value', 120.5, 'EUR', CURRENT_TIMESTAMP FROM chosen",
        "INSERT INTO customer_feedback (customer_id, kind, score, response_id, responded_at) "
        "SELECT customer_id, 'nps', 9, 'r-' || customer_id, CURRENT_TIMESTAMP FROM chosen",
    ):
        await connection.execute(text(pool_cte + statement), {"pool": pool})


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


WORKERS = int(os.environ.get("BENCH_PROFILE_WORKERS", os.cpu_count() or 1))


@contextlib.asynccontextmanager
async def _service(settings: ProfileSettings, scratch: Path, workers: int):  # type: ignore[no-untyped-def]
    """The profile service as deployed: migrated first, then uvicorn in processes of its own (uvloop and
    httptools when installed), `workers` of them, on a free port."""
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": settings.database_url, "PORT": str(port), "HOST": "127.0.0.1",
                   "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers, "ENVIRONMENT": "test",
                   "CONSUMER_GROUP": f"{settings.consumer_group}-service", "LOG_LEVEL": "WARNING",
                   "MIGRATE_ON_START": "false", "RATE_LIMIT_PER_SECOND": "100000", "RATE_LIMIT_BURST": "100000"}
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "services.profile", "migrate"], env=environment, cwd=root, check=True)
    command = [sys.executable, "-m", "uvicorn", "services.profile.app:create_app", "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning",
               "--timeout-graceful-shutdown", "20"]
    if find_spec("uvloop") and find_spec("httptools"):
        command += ["--loop", "uvloop", "--http", "httptools"]
    log = open(scratch / "service.log", "wb")
    process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(600):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                if process.poll() is not None:
                    raise RuntimeError(f"the service exited: {(scratch / 'service.log').read_text()[-2000:]}")
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("the service did not answer /healthz within 60 s")
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its live children (the uvicorn workers)."""
    def used(stat: Path) -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    total = used(Path(f"/proc/{pid}/stat"))
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        with contextlib.suppress(FileNotFoundError):
            total += used(Path(f"/proc/{child}/stat"))
    return total


async def _customer_latency(settings: ProfileSettings, pool: int, scratch: Path, *, duration: int) -> BenchResult:
    """Open loop at 1,000 requests/s from a separate process against the service in its own processes;
    a 2 s warm-up at the same rate comes first and is not counted."""
    rate = 1000
    rng = np.random.default_rng(7)
    targets = [f"/customers/b-{n}" for n in rng.integers(1, pool + 1, size=rate * duration).tolist()]
    headers = {"Host": "bench", "Authorization": f"Bearer {API_KEY}"}
    workers = WORKERS if settings.database_url.startswith("postgresql") else 1
    async with _service(settings, scratch, workers) as (port, pid):
        await open_loop("127.0.0.1", port, targets[:2 * rate], rate=rate, headers=headers)
        cpu_before = _cpu_seconds(pid)
        load = await open_loop("127.0.0.1", port, targets, rate=rate, headers=headers)
        cpu_ms = 1000 * (_cpu_seconds(pid) - cpu_before) / max(load.sent, 1)
    achieved = (load.sent - load.failed) / load.seconds
    p99 = load.percentile(99)
    loop = "uvloop + httptools" if find_spec("uvloop") and find_spec("httptools") else "asyncio + h11"
    return BenchResult(
        name="profile: GET /customers/{id} (360 view) p99 at 1,000 requests/s", figure=round(p99, 2), unit="ms",
        target="<= 10 ms", passed=p99 <= 10 and achieved >= 0.95 * rate and not load.failed,
        comparison=f"{load.sent:,} requests over {duration}s to {pool:,} customers, open loop from a separate "
                   f"process, against uvicorn ({workers} worker{'s' * (workers > 1)}, {loop}) on "
                   f"{settings.database_url.split(':', 1)[0]}; {cpu_ms:.2f} ms of service CPU per request; "
                   f"{os.cpu_count()} cores shared by service, database, load and everything else on the machine",
        details={"p50_ms": round(load.percentile(50), 2), "p90_ms": round(load.percentile(90), 2),
                 "p99_9_ms": round(load.percentile(99.9), 2), "max_ms": round(max(load.latencies_ms), 2),
                 "achieved_rps": round(achieved), "failed": load.failed, "failures": load.failures,
                 "connections": load.connections,
                 "workers": workers, "service_cpu_ms_per_request": round(cpu_ms, 3)})


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
        unit="events/s", target="reference: one consumer's share (the target is the replicas' row)", passed=True,
        comparison=f"{events:,} records handed to ConsumerRunner.process in batches of {batch}, "
                   f"{app.state.engine.dialect.name}",
        details={"seconds": round(seconds, 2)})


async def _publish_orders(settings: ProfileSettings, events: int, prefix: str) -> None:
    """Orders from an external system (source bench-{prefix}) onto purchase-recorded, keyed by customer."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, linger_ms=20,
                                max_batch_size=1_000_000)
    await producer.start()
    try:
        for n, value in enumerate(_orders(events, prefix)):
            await producer.send("purchase-recorded", value, key=f"b-{1 + n % 50_000}".encode())
        await producer.flush()
    finally:
        await producer.stop()


async def _ingestion(app: Any, settings: ProfileSettings, events: int) -> list[BenchResult]:
    """Publish `events` orders from an external system; then read the topic with a bare aiokafka loop
    (the ceiling of this machine and broker), then let the service's consumer apply them. Both rates
    are steady state: from the end of the first batch to the last, so joining the group is left out."""
    await _publish_orders(settings, events, "shop")
    bare_events, bare_seconds = await _bare_consume(settings, events)
    bare = bare_events / bare_seconds

    consumer, registry = app.state.consumer, app.state.metrics.registry
    def consumed() -> float:  # the service's own counter of committed events
        return registry.get_sample_value("cvp_events_consumed_total", {"group": consumer.group_id}) or 0.0

    before = consumed()
    started = time.perf_counter()
    first: tuple[float, float] | None = None
    task = asyncio.create_task(consumer.run())
    try:
        while consumed() - before < events and time.perf_counter() - started < 600:
            await asyncio.sleep(0.02)
            if first is None and consumed() > before:
                first = (time.perf_counter(), consumed() - before)
        finished = time.perf_counter()
    finally:
        consumer.stop()
        await task
    async with app.state.engine.connect() as connection:
        applied = await connection.scalar(select(func.count()).select_from(Purchase)
                                          .where(Purchase.source == "bench-shop"))
    first_at, first_count = first or (finished, 0.0)
    rate = (consumed() - before - first_count) / max(finished - first_at, 1e-9)
    setup = (f"{events:,} events already on the topic, {settings.kafka_topic_partitions} partitions, one consumer, "
             f"through the local dev broker (Tansu), not Apache Kafka; steady state after the first batch")
    return [
        BenchResult(
            name="profile: bare aiokafka consume loop over the same topic (ceiling)", figure=round(bare),
            unit="events/s", target="reference", passed=True,
            comparison=f"{setup}; getmany batches of up to 10,000, JSON-decoded, nothing stored",
            details={"seconds": round(bare_seconds, 2)}),
        BenchResult(
            name="profile: purchase-recorded ingested from Kafka", figure=round(rate), unit="events/s",
            target="reference: one consumer (the target is the replicas' row)", passed=applied == events,
            comparison=f"{setup}; batches of {settings.consumer_batch_size}, {app.state.engine.dialect.name}",
            details={"applied": applied, "seconds_with_group_join": round(finished - started, 2),
                     "share_of_ceiling": round(rate / bare, 3)}),
    ]


async def _ingestion_by_replicas(settings: ProfileSettings, scratch: Path, events: int,
                                 one_consumer: BenchResult) -> BenchResult:
    """The service as deployed, two replicas in one consumer group (uvicorn workers, each with its
    consumer), started on a backlog of orders: steady state from the first order stored to the last, by
    the times the rows were stored (each batch's own). The backlog is published before the replicas start,
    so the publisher (other systems, on other machines in production) does not share the cores with them
    while they are measured; the stored count is polled once a second, a light load of its own."""
    replicas = 2
    settings = settings.model_copy(update={"consumer_group": f"{settings.consumer_group}-replicas"})
    await _publish_orders(settings, events, "fleet")
    fleet = Purchase.source == "bench-fleet"
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with _service(settings, scratch, replicas):
            started, stored = time.perf_counter(), 0
            while stored < events and time.perf_counter() - started < 600:
                await asyncio.sleep(1.0)
                async with engine.connect() as connection:
                    stored = await connection.scalar(select(func.count()).select_from(Purchase).where(fleet)) or 0
        async with engine.connect() as connection:  # when each batch was stored, not when it was seen
            first_at = await connection.scalar(select(func.min(Purchase.recorded_at)).where(fleet))
            first_count, finished_at = (await connection.execute(
                select(func.count().filter(Purchase.recorded_at == first_at), func.max(Purchase.recorded_at))
                .where(fleet))).one()
    finally:
        await engine.dispose()
    seconds = (finished_at - first_at).total_seconds() if first_at is not None else 0.0
    rate = (stored - first_count) / max(seconds, 1e-9)
    return BenchResult(
        name="profile: purchase-recorded ingested from Kafka by two replicas", figure=round(rate),
        unit="events/s", target=">= 20,000 events/s", passed=rate >= 20_000 and stored == events,
        comparison=f"{events:,} events on {settings.kafka_topic_partitions} partitions, published before the "
                   f"replicas start, read by {replicas} replicas in one consumer group (uvicorn workers of the "
                   f"service, joining as they start), through the local dev broker (Tansu); from the first order "
                   f"stored to the last; one consumer alone: {one_consumer.figure:,.0f}/s; replicas, "
                   f"{settings.database_url.split(':', 1)[0]} and broker share the machine's {os.cpu_count()} cores",
        details={"stored": stored, "seconds": round(seconds, 2), "replicas": replicas})


async def _bare_consume(settings: ProfileSettings, events: int) -> tuple[int, float]:
    """Events read after the first batch, and the seconds they took."""
    consumer = AIOKafkaConsumer("purchase-recorded", bootstrap_servers=settings.kafka_bootstrap_servers,
                                group_id=f"bench-bare-{uuid.uuid4().hex[:6]}", auto_offset_reset="earliest",
                                enable_auto_commit=False, max_poll_records=10_000)
    started, seen, first = time.perf_counter(), 0, None
    await consumer.start()
    try:
        while seen < events and time.perf_counter() - started < 300:
            batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
            for records in batches.values():
                for record in records:
                    json.loads(record.value)
                seen += len(records)
            if first is None and seen:
                first = (time.perf_counter(), seen)
        finished = time.perf_counter()
    finally:
        await consumer.stop()
    first_at, first_count = first or (finished, 0)
    return seen - first_count, finished - first_at
