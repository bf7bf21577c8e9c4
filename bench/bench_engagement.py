"""Engagement benchmarks: contact-policy decisions per second (pure); planning one campaign run for a large
audience (set-based, `bench.engagement_planning`); and messages per second one dispatcher sends through the
webhook channel to a local provider (`bench.engagement_dispatch`). The database ones run on a fresh database
on the PostgreSQL server of BENCH_DATABASE_URL, or on SQLite without it."""
from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from importlib.util import find_spec
from typing import Any

from bench.engagement_dispatch import dispatch_once
from bench.engagement_planning import plan_once
from bench.results import BenchResult
from services.engagement.policy import ContactPolicy, PastContact, Recipient, decide
from tools.scratch_databases import fresh_database

TIERS = ["high-value", "potential", "ordinary", "low-value", None]
CONSENTS = frozenset((c, p) for c in ("email", "sms") for p in ("marketing", "service"))
PLAN_SECONDS, SEND_RATE = 30, 2_000


def run(quick: bool) -> list[BenchResult]:
    return [_decisions_per_second(20_000 if quick else 500_000),
            asyncio.run(_planning(20_000 if quick else 1_000_000)),
            _as_served(_dispatch(2_000 if quick else 20_000))]


def _as_served(benchmark: Coroutine[Any, Any, BenchResult]) -> BenchResult:
    """Run on the event loop the service runs on: uvicorn's is uvloop when it is installed."""
    if find_spec("uvloop"):
        import uvloop
        return uvloop.run(benchmark)
    return asyncio.run(benchmark)


def _decisions_per_second(count: int) -> BenchResult:
    policy, now, rng = ContactPolicy(quiet_hours=None), datetime.now(UTC), random.Random(7)
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


def _server() -> str | None:
    return os.environ.get("BENCH_DATABASE_URL")


async def _planning(customers: int) -> BenchResult:
    with tempfile.TemporaryDirectory() as scratch:
        async with fresh_database(_server(), scratch, prefix="cvp_bench") as url:
            outcome = await plan_once(url, customers)
    database = url.split(":", 1)[0]
    seconds = outcome["seconds"]
    complete = outcome["members"] == customers and sum(outcome["statuses"].values()) <= customers
    on_postgres = database.startswith("postgresql")
    return BenchResult(
        name=f"engagement: plan a campaign run for {customers:,} customers (arms, channels, quiet hours, caps, "
             "suppressions with reasons, events)",
        figure=round(seconds, 1), unit="s", target=f"<= {PLAN_SECONDS} s for 1,000,000 customers on PostgreSQL",
        passed=on_postgres and customers >= 1_000_000 and complete and seconds <= PLAN_SECONDS,
        comparison=f"{seconds:.1f} s for {customers:,} ({customers / seconds:,.0f} customers/s) on {database}; "
                   f"target {PLAN_SECONDS} s for 1,000,000 on PostgreSQL",
        details={"database": database, "members": outcome["members"], "queued": outcome["queued"],
                 "messages": outcome["statuses"]})


async def _dispatch(count: int) -> BenchResult:
    with tempfile.TemporaryDirectory() as scratch:
        async with fresh_database(_server(), scratch, prefix="cvp_bench") as url:
            outcome = await dispatch_once(url, count)
    database = url.split(":", 1)[0]
    rate = count / outcome["seconds"]
    received = outcome["received"]
    once = received["requests"] == received["distinct"] == count and outcome["statuses"].get("sent") == count \
        and outcome["sent_events"] == count
    return BenchResult(
        name="engagement: messages sent through the webhook channel by one dispatcher (lease, ledger lock, policy, "
             "profile, render, signed POST, outcome, outreach-sent)",
        figure=round(rate), unit="messages/s", target=f">= {SEND_RATE} messages/s, each delivered once",
        passed=once and rate >= SEND_RATE,
        comparison=f"{rate:.0f} vs {SEND_RATE}; one bare pooled aiohttp session (the channel's client) gets "
                   f"{outcome['bare_client_rate']:.0f} requests/s from the same receiver on this machine",
        details={"database": database, "messages": count, "received": received,
                 "statuses": outcome["statuses"], "outreach_sent_events": outcome["sent_events"]})
