"""Engagement benchmarks: contact-policy decisions per second (pure); planning one campaign run for a large
audience (set-based, `bench.engagement_planning`); and messages per second two replicas' dispatchers (and one
alone) send through the webhook channel to a local provider (`bench.engagement_dispatch`). The database ones
run on a fresh database on the PostgreSQL server of BENCH_DATABASE_URL, or on SQLite without it."""
from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
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
            asyncio.run(_dispatch(2_000 if quick else 20_000))]



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
    """Two replicas' dispatchers, as the platform runs engagement on these 2 cores; one alone for comparison."""
    one, two = await _dispatch_with(count, replicas=1), await _dispatch_with(count, replicas=2)
    database = "postgresql+asyncpg" if _server() else "sqlite+aiosqlite"
    rate, single = count / two["seconds"], count / one["seconds"]
    once = all(outcome["received"]["requests"] == outcome["received"]["distinct"] == count
               and outcome["statuses"].get("sent") == count and outcome["sent_events"] == count
               for outcome in (one, two))
    return BenchResult(
        name="engagement: messages sent through the webhook channel by two replicas' dispatchers (lease, ledger "
             "lock, policy, profile, render, signed POST, outcome, outreach-sent)",
        figure=round(rate), unit="messages/s", target=f">= {SEND_RATE} messages/s, each delivered once",
        passed=once and rate >= SEND_RATE,
        comparison=f"{rate:.0f} vs {SEND_RATE}; one dispatcher alone: {single:.0f}; one bare pooled aiohttp session "
                   f"(the channel's client) gets {two['bare_client_rate']:.0f} requests/s from the same receiver; "
                   f"dispatchers, receiver and {database} share the machine's 2 cores",
        details={"database": database, "messages": count, "one_dispatcher_rate": round(single),
                 "statuses": two["statuses"], "received": two["received"], "outreach_sent_events": two["sent_events"]})


async def _dispatch_with(count: int, replicas: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        async with fresh_database(_server(), scratch, prefix="cvp_bench") as url:
            return await dispatch_once(url, count, replicas)
