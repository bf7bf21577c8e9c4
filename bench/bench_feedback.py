"""Feedback benchmarks: survey responses accepted per second through the public API, and the NPS trend
by week and tier over many responses on PostgreSQL (BENCH_DATABASE_URL; skipped without it)."""
from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench.results import BenchResult
from services.feedback import text as comment_text
from services.feedback.analytics import Filters, nps_report
from services.feedback.app import create_app
from services.feedback.settings import FeedbackSettings
from shared.devbroker import start_broker

SURVEY = {"survey_id": "bench-nps", "name": "bench", "definition": {"questions": [
    {"id": "nps", "type": "nps", "text": {"en": "Recommend us?"}},
    {"id": "why", "type": "text", "required": False, "text": {"en": "Why?"}}]}}
COMMENTS = ["Fast delivery, great price", "快递太慢了", None, None]


def run(quick: bool) -> list[BenchResult]:
    return asyncio.run(_run(quick))


async def _run(quick: bool) -> list[BenchResult]:
    with tempfile.TemporaryDirectory() as scratch:
        broker = start_broker(log_path=Path(scratch) / "broker.log")
        try:
            url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{scratch}/feedback.db"
            settings = FeedbackSettings(environment="test", database_url=url,
                                        kafka_bootstrap_servers=broker.bootstrap_servers,
                                        consumer_group=f"bench-{uuid.uuid4().hex[:6]}", survey_cooldown_days=0)
            results = [await _responses_per_second(settings, 1_000 if quick else 10_000)]
            results.append(await _nps_trend(settings, 200_000 if quick else 10_000_000))
            return results
        finally:
            broker.stop()


async def _responses_per_second(settings: FeedbackSettings, count: int) -> BenchResult:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                     headers={"Authorization": "Bearer cvp-dev-key"}) as http:
            await http.post("/surveys", json=SURVEY)
            urls = await _invite(http, count)
            await asyncio.to_thread(comment_text.warm_up)  # the service loads its models at start-up; wait for that
            started = time.perf_counter()
            accepted = await _answer_all(http, urls, concurrency=32)
            seconds = time.perf_counter() - started
    rate = accepted / seconds
    return BenchResult(name="feedback: survey responses accepted via POST /s/{token}", figure=round(rate), unit="responses/s",
                       target=">= 2000 responses/s", passed=rate >= 2000,
                       comparison=f"{accepted} responses, 32 concurrent clients, in-process ASGI, "
                                  f"{settings.database_url.split(':')[0]}, a quarter with comments analysed",
                       details={"responses": accepted, "seconds": round(seconds, 2)})


async def _invite(http: httpx.AsyncClient, count: int) -> list[str]:
    urls: list[str] = []
    for start in range(0, count, 1000):
        ids = [f"bench-{n}" for n in range(start, min(start + 1000, count))]
        created = await http.post("/invitations", json={"survey_id": "bench-nps", "customer_ids": ids})
        urls += [item["url"].split("/s/", 1)[1] for item in created.json()["invited"]]
    return urls


async def _answer_all(http: httpx.AsyncClient, tokens: list[str], *, concurrency: int) -> int:
    queue = list(enumerate(tokens))
    accepted = 0

    async def worker() -> None:
        nonlocal accepted
        while queue:
            n, token = queue.pop()
            comment = COMMENTS[n % len(COMMENTS)]
            answers = {"nps": n % 11, **({"why": comment} if comment else {})}
            response = await http.post(f"/s/{token}", json={"answers": answers})
            accepted += response.status_code == 201

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return accepted


async def _nps_trend(settings: FeedbackSettings, rows: int) -> BenchResult:
    name = f"feedback: NPS trend by week and tier over {rows:,} responses"
    if not settings.database_url.startswith("postgresql"):
        return BenchResult(name=name, figure=float("nan"), unit="s", target="<= 1 s on PostgreSQL", passed=False,
                           comparison="not measured: set BENCH_DATABASE_URL to a PostgreSQL database")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await _fill_responses(app.state.engine, rows)
        async with app.state.unit_of_work() as uow:
            started = time.perf_counter()
            series = await nps_report(uow, Filters(), "week", "tier")
            seconds = time.perf_counter() - started
    return BenchResult(name=name, figure=round(seconds, 3), unit="s", target="<= 1 s on PostgreSQL",
                       passed=seconds <= 1.0, comparison=f"{len(series)} (week, tier) rows folded from the daily roll-up (response_daily) plus responses not yet rolled up",
                       details={"rows": rows})


async def _fill_responses(engine: Any, rows: int) -> None:
    """Generate synthetic NPS responses over two years in the database, already rolled up into their days
    (the steady state the roll-up job keeps), then count the days once."""
    async with engine.begin() as connection:
        for offset in range(0, rows, 1_000_000):
            await connection.execute(text(_GENERATE), {"first": offset, "last": min(offset + 1_000_000, rows) - 1})
        await connection.execute(text(_COUNT_DAYS))
        await connection.execute(text("ANALYZE responses"))
        await connection.execute(text("ANALYZE response_daily"))


_GENERATE = """
INSERT INTO responses (response_id, customer_id, survey_id, version, channel, kind, score, themes, answers, tier,
                       responded_at, rolled_up)
SELECT 'b-' || n, 'c-' || (n % 50000), 'bench-trend', 1, (ARRAY['web', 'app', 'store'])[1 + n % 3], 'nps', n % 11,
       '[]', '{}', (ARRAY['high-value', 'potential', 'ordinary', 'low-value'])[1 + n % 4],
       TIMESTAMPTZ '2025-01-01 00:00:00+00' + (n % 1051200) * INTERVAL '1 minute', true
FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS n
"""

_COUNT_DAYS = """
INSERT INTO response_daily (day, survey_id, tier, channel, kind, scored, promoters, detractors, satisfied, score_sum)
SELECT CAST(timezone('UTC', responded_at) AS date), coalesce(survey_id, ''), coalesce(tier, ''), channel, kind,
       count(score), sum(CASE WHEN score >= 9 THEN 1 ELSE 0 END), sum(CASE WHEN score <= 6 THEN 1 ELSE 0 END),
       0, coalesce(sum(score), 0)
FROM responses WHERE survey_id = 'bench-trend' AND kind = 'nps'
GROUP BY 1, 2, 3, 4, 5
"""
