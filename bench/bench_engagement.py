"""Engagement benchmarks: contact-policy decisions per second (pure), and messages dispatched per second
by one dispatcher through the whole send path (lease, ledger lock, policy, profile lookup over HTTP,
render, dry-run channel, outcome event) on SQLite, or PostgreSQL with BENCH_DATABASE_URL."""
from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from fastapi import FastAPI

from bench.results import BenchResult
from services.engagement.app import create_app
from services.engagement.dispatch import Dispatcher
from services.engagement.policy import ContactPolicy, PastContact, Recipient, decide
from services.engagement.profile_client import ProfileClient
from services.engagement.settings import EngagementSettings
from shared.devbroker import start_broker

TIERS = ["high-value", "potential", "ordinary", "low-value", None]
CONSENTS = frozenset((c, p) for c in ("email", "sms") for p in ("marketing", "service"))


def run(quick: bool) -> list[BenchResult]:
    return [_decisions_per_second(20_000 if quick else 500_000), asyncio.run(_dispatch(quick))]


def _decisions_per_second(count: int) -> BenchResult:
    policy, now, rng = ContactPolicy(quiet_hours=None), datetime.now(timezone.utc), random.Random(7)
    cases = [(Recipient(f"c-{n}", "Europe/Paris", rng.choice(TIERS), consents=CONSENTS),
              [PastContact(rng.choice(["email", "sms"]), "promotion", now - timedelta(hours=rng.randint(1, 700)))
               for _ in range(rng.randint(0, 6))]) for n in range(1000)]
    started = time.perf_counter()
    for n in range(count):
        recipient, history = cases[n % 1000]
        decide("preferred", "promotion", recipient, history, policy, now)
    rate = count / (time.perf_counter() - started)
    return BenchResult(name="engagement: contact-policy decisions (pure)", figure=round(rate), unit="decisions/s",
                       target=">= 20000 decisions/s", passed=rate >= 20_000, comparison=f"{rate:.0f} vs 20000")


def _profile() -> ProfileClient:
    def answer(request: httpx.Request) -> httpx.Response:
        customer_id = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json={"customer_id": customer_id, "email": f"{customer_id}@example.com", "name": "A"})
    return ProfileClient("http://profile", "", transport=httpx.MockTransport(answer))


async def _dispatch(quick: bool) -> BenchResult:
    count = 300 if quick else 3_000
    with tempfile.TemporaryDirectory() as scratch:
        broker = start_broker(log_path=Path(scratch) / "broker.log")
        try:
            url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{scratch}/engagement.db"
            settings = EngagementSettings(environment="test", database_url=url, kafka_bootstrap_servers=broker.bootstrap_servers,
                                          consumer_group=f"bench-{uuid.uuid4().hex[:6]}", dispatch_batch_size=200,
                                          log_level="WARNING")
            app = create_app(settings)
            app.state.profile = _profile()
            async with app.router.lifespan_context(app):
                seconds = await _queue_then_dispatch(app, settings, count)
        finally:
            broker.stop()
    rate = count / seconds
    return BenchResult(name="engagement: messages dispatched (lease, ledger lock, policy, profile, render, dry run, event)",
                       figure=round(rate), unit="messages/s", target=">= 25 messages/s per replica", passed=rate >= 25,
                       comparison=f"{rate:.0f} vs 25", details={"database": url.split(":", 1)[0], "messages": count})


async def _queue_then_dispatch(app: FastAPI, settings: EngagementSettings, count: int) -> float:
    """Queue messages for an hour from now over HTTP, then time a dispatcher whose clock is an hour ahead."""
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                 headers={"Authorization": "Bearer cvp-dev-key"}) as http:
        await http.put("/contact-policy", json=ContactPolicy(quiet_hours=None).model_dump(mode="json"))
        for n in range(count):
            await http.post("/messages", json={"customer_id": f"c-{n % 500}", "channel": "email", "send_at": later.isoformat(),
                                               "priority": "transactional", "body": "Hi {{ customer.name }}"})
    dispatcher = Dispatcher(app.state.unit_of_work, settings, app.state.profile, {},
                            clock=lambda: datetime.now(timezone.utc) + timedelta(hours=1, seconds=1))
    started = time.perf_counter()
    while await dispatcher.run_once():
        pass
    return time.perf_counter() - started
