"""Journey benchmarks: step-engine decisions per second (pure); a holiday journey started for every customer
(one INSERT ... SELECT per local date); and due instances advanced per second by one replica (lease,
facts, grant points, queue a message), on SQLite, or on a scratch database of the PostgreSQL server
BENCH_DATABASE_URL names.

    python -m bench.bench_journeys [--quick]
"""
from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select

from bench.results import BenchResult
from services.engagement.app import create_app
from services.engagement.journey_rules import advance
from services.engagement.journeys import (
    advance_due_journeys,
    save_journey,
    start_calendar_journeys,
)
from services.engagement.models import Audience, JourneyInstance, Message
from services.engagement.schemas_journeys import JourneyWrite
from services.engagement.settings import EngagementSettings
from shared.devbroker import start_broker
from tools.scratch_databases import fresh_database

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", None]
#: the journeys run a day ahead of the wall clock, so the app's own background jobs leave them alone
AHEAD = timedelta(days=1)


def run(quick: bool) -> list[BenchResult]:
    return [_engine_decisions(20_000 if quick else 200_000), *asyncio.run(_start_and_advance(quick))]


def _journey(day: datetime) -> dict:  # type: ignore[type-arg]
    return JourneyWrite.model_validate({
        "trigger": {"event": "holiday", "calendar": [{"date": day.strftime("%m-%d"), "name": "Bench Day"}]},
        "steps": [{"id": "vip", "type": "branch", "if": {"field": "tier", "in": ["high-value"]}, "then": "gift"},
                  {"id": "gift", "type": "grant_points", "points": 10},
                  {"id": "greet", "type": "send", "priority": "service", "body": "Happy {{ event.name }}!"},
                  {"id": "later", "type": "wait", "duration": "P7D", "until_local_time": "10:00"},
                  {"id": "again", "type": "send", "priority": "service", "body": "Still happy?"}],
    }).model_dump(mode="json", by_alias=True)


def _engine_decisions(count: int) -> BenchResult:
    now = datetime.now(UTC)
    definition, zone = _journey(now), ZoneInfo("Europe/Berlin")
    facts = [{"tier": tier} for tier in ("high-value", "ordinary", None)]
    started = time.perf_counter()
    for n in range(count):
        advance(definition, None, facts[n % 3], now, zone)
    rate = count / (time.perf_counter() - started)
    return BenchResult(name="journeys: step-engine advances (pure)", figure=round(rate), unit="advances/s",
                       target=">= 20000 advances/s", passed=rate >= 20_000, comparison=f"{rate:.0f} vs 20000")


async def _start_and_advance(quick: bool) -> list[BenchResult]:
    customers = 2_000 if quick else 20_000
    with tempfile.TemporaryDirectory() as scratch:
        broker = start_broker(log_path=Path(scratch) / "broker.log")
        try:
            async with fresh_database(os.environ.get("BENCH_DATABASE_URL"), scratch, prefix="cvp_bench") as url:
                settings = EngagementSettings(environment="test", database_url=url,
                                              kafka_bootstrap_servers=broker.bootstrap_servers,
                                              consumer_group=f"bench-{uuid.uuid4().hex[:6]}", log_level="WARNING",
                                              journey_interval_seconds=3600)
                app = create_app(settings)
                async with app.router.lifespan_context(app):
                    start_seconds, advance_seconds, queued = await _measure(app, customers)
        finally:
            broker.stop()
    database = url.split(":", 1)[0]
    start_rate, advance_rate = customers / start_seconds, customers / advance_seconds
    return [
        BenchResult(name="journeys: holiday journey started for every customer (set-based)", figure=round(start_rate),
                    unit="instances/s", target=">= 5000 instances/s", passed=start_rate >= 5_000,
                    comparison=f"{start_rate:.0f} vs 5000",
                    details={"database": database, "customers": customers, "seconds": round(start_seconds, 2)}),
        BenchResult(name="journeys: due instances advanced by one replica (branch, points, message, wait)",
                    figure=round(advance_rate), unit="instances/s", target=">= 200 instances/s per replica",
                    passed=advance_rate >= 200 and queued == customers, comparison=f"{advance_rate:.0f} vs 200",
                    details={"database": database, "instances": customers, "messages_queued": queued,
                             "seconds": round(advance_seconds, 2)}),
    ]


async def _measure(app, customers: int) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC) + AHEAD
    async with app.state.unit_of_work() as uow:
        await uow.session.execute(insert(Audience), [
            {"customer_id": f"c-{n:07d}", "timezone": ZONES[n % len(ZONES)], "consents": ["email:service"],
             "tier": "high-value" if n % 4 == 0 else "ordinary", "do_not_contact": False, "updated_at": now}
            for n in range(customers)])
        await save_journey(uow, {"journey_id": "bench-day", **_journey(now)}, now)
        await uow.commit()
    started = time.perf_counter()
    async with app.state.unit_of_work() as uow:
        # the local date differs by zone; run once per UTC hour band as the hourly job would, a day ahead
        for hours in range(0, 24, 6):
            await start_calendar_journeys(uow, now.replace(hour=hours, minute=30), "UTC")
        await uow.commit()
    start_seconds = time.perf_counter() - started
    async with app.state.unit_of_work() as uow:
        instances = await uow.session.scalar(select(func.count()).select_from(JourneyInstance))
    assert instances == customers, f"{instances} instances for {customers} customers"
    started = time.perf_counter()
    while True:
        async with app.state.unit_of_work() as uow:
            advanced = await advance_due_journeys(uow, now + timedelta(days=1), limit=200)
            await uow.commit()
        if advanced.instances == 0:
            break
    advance_seconds = time.perf_counter() - started
    async with app.state.unit_of_work() as uow:
        queued = int(await uow.session.scalar(select(func.count()).select_from(Message)) or 0)
    return start_seconds, advance_seconds, queued


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        print(f"{result.name}: {result.figure} {result.unit} (target {result.target}; "
              f"{'passed' if result.passed else 'NOT met'}) {result.details}")
