"""Benchmark: messages per second engagement's dispatchers send through the webhook channel to a local provider.

Customers who consented to marketing by SMS each have one promotion due. Each dispatcher (a process of
its own, as each replica of the service runs one) leases them in batches, decides under the contact policy
and the ledger locks, looks the batch's phone numbers up in profile (an in-process stand-in), renders, posts each message (signed, with its Idempotency-Key) to the receiver in
`bench.webhook_receiver`, a process of its own, and records the outcomes and the outreach-sent events.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from importlib.util import find_spec
from typing import Any

import aiohttp
import httpx
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.engagement.app import DEFINITION
from services.engagement.channels import WebhookChannel
from services.engagement.contacts import save_policy
from services.engagement.dispatch import Dispatcher
from services.engagement.models import Message, tables
from services.engagement.policy import ContactPolicy
from services.engagement.profile_client import ProfileClient
from services.engagement.settings import EngagementSettings, WebhookTarget
from shared.db import UTCDateTime, create_engine
from shared.devbroker import free_port
from shared.migrations import upgrade_to_head
from shared.uow import UnitOfWork, unit_of_work_factory

SECRET = "bench-webhook-secret-0123456789"


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[str]:
    """The webhook receiver in a process of its own; yields its base URL."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.webhook_receiver", str(port))
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                with contextlib.suppress(httpx.HTTPError):
                    await http.get(f"{url}/stats")
                    break
                await asyncio.sleep(0.1)
        yield url
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


async def receiver_stats(url: str) -> dict[str, int]:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{url}/stats")).json()  # type: ignore[no-any-return]


async def bare_client_rate(url: str, requests: int, concurrency: int) -> float:
    """Requests per second one pooled aiohttp session (the webhook channel's client) gets from the receiver
    with nothing else to do: the ceiling of the dispatcher."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(requests):
            queue.put_nowait(n)

        async def worker() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                async with http.post(f"{url}/ceiling", data=b'{"probe": true}',
                                     headers={"Idempotency-Key": f"probe-{n}"}) as response:
                    await response.read()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)


def _profile() -> ProfileClient:
    def answer(request: httpx.Request) -> httpx.Response:
        wanted = json.loads(request.content)["customer_ids"]
        return httpx.Response(200, json={"contacts": [{"customer_id": c, "phone": "+4915112345678", "given_name": "Ada"}
                                                      for c in wanted], "missing": []})
    return ProfileClient("http://profile", "", transport=httpx.MockTransport(answer))


async def queue_promotions(factory: Callable[[], UnitOfWork], count: int, now: datetime) -> None:
    """`count` customers with SMS marketing consent, each with one promotion due now and one contact made
    45 days ago."""
    async with factory() as uow:
        session = uow.session
        postgres = session.bind.dialect.name == "postgresql"
        numbers = ("SELECT n FROM generate_series(1, :count) AS n" if postgres else
                   "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :count) SELECT n FROM s")
        json = "::json" if postgres else ""
        at = bindparam("now", type_=UTCDateTime)
        await save_policy(uow, ContactPolicy(quiet_hours=None))
        await session.execute(text(
            f"INSERT INTO audience (customer_id, timezone, locale, do_not_contact, consents, tier, updated_at) "
            f"SELECT 'c-' || n, 'Europe/Paris', 'en', false, ('[\"sms:marketing\"]'){json}, 'high-value', :now "
            f"FROM ({numbers}) AS numbers").bindparams(at), {"count": count, "now": now})
        await session.execute(text(
            f"INSERT INTO messages (message_id, customer_id, requested_channel, priority, body, variables, status, "
            f"due_at, attempts, created_at) SELECT 'm-' || n, 'c-' || n, 'sms', 'promotion', "
            f"'Hi {{{{ customer.first_name }}}}, your offer', ('{{}}'){json}, 'queued', :now, 0, :now "
            f"FROM ({numbers}) AS numbers").bindparams(at), {"count": count, "now": now})
        await session.execute(text(  # a platform in use: each customer last heard from us 45 days ago, outside every cap
            f"INSERT INTO contact_history (message_id, customer_id, channel, priority, contacted_at) "
            f"SELECT 'earlier-' || n, 'c-' || n, 'sms', 'promotion', :then FROM ({numbers}) AS numbers")
            .bindparams(bindparam("then", type_=UTCDateTime)), {"count": count, "then": now - timedelta(days=45)})
        await uow.commit()
        if postgres:
            await session.execute(text("ANALYZE"))


async def dispatch_once(url: str, count: int, replicas: int) -> dict[str, Any]:
    """Seconds `replicas` dispatchers (each in a process of its own, as engagement replicas run, with the
    service's default settings) take to send `count` due promotions to the receiver, and what came of them."""
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine, DEFINITION.migrations)
        factory = unit_of_work_factory(async_sessionmaker(engine, expire_on_commit=False), DEFINITION.tables.outbox,
                                       source="/services/engagement")
        await queue_promotions(factory, count, datetime.now(UTC))
        async with receiver() as base:
            seconds = await _run_replicas(url, base, replicas)
            received = await receiver_stats(base)
            concurrency = EngagementSettings(environment="test", database_url=url).dispatch_concurrency
            ceiling = await bare_client_rate(base, min(count, 5000), concurrency)
        async with factory() as uow:
            statuses = {f"{status}:{reason}" if reason else status: n for status, reason, n in (await uow.session.execute(
                select(Message.status, Message.reason, func.count()).group_by(Message.status, Message.reason))).all()}
            events = await uow.session.scalar(select(func.count()).select_from(tables.outbox).where(
                tables.outbox.c.topic == "outreach-sent"))
        return {"seconds": seconds, "statuses": statuses, "received": received, "sent_events": events,
                "bare_client_rate": ceiling}
    finally:
        await engine.dispose()


async def _run_replicas(url: str, base: str, replicas: int) -> float:
    """Start the dispatcher processes, let them go together once all are ready, and time them until the last
    one has found nothing more to send."""
    processes = [await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.engagement_dispatch", url, base,
                                                      stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
                 for _ in range(replicas)]
    try:
        for process in processes:
            assert process.stdout is not None
            if (await process.stdout.readline()).strip() != b"ready":
                raise RuntimeError("a dispatcher process did not start")
        started = time.perf_counter()
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            await process.stdin.drain()
        for process in processes:
            if await process.wait() != 0:
                raise RuntimeError(f"a dispatcher process exited with {process.returncode}")
        return time.perf_counter() - started
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()


async def _dispatcher_process(url: str, base: str) -> None:
    """One replica's dispatcher: ready, then on `go` dispatch until nothing is due."""
    engine = create_engine(url)
    factory = unit_of_work_factory(async_sessionmaker(engine, expire_on_commit=False), DEFINITION.tables.outbox,
                                   source="/services/engagement")
    settings = EngagementSettings(environment="test", database_url=url, log_level="WARNING")
    channel = WebhookChannel(WebhookTarget(url=f"{base}/hooks/sms", secret=SECRET),
                             settings.delivery_timeout_seconds, connections=settings.dispatch_concurrency)
    profile = _profile()
    dispatcher = Dispatcher(factory, settings, profile, {"sms": channel})
    try:
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        while await dispatcher.drain():
            pass
    finally:
        await channel.aclose()
        await profile.close()
        await engine.dispose()


if __name__ == "__main__":
    if find_spec("uvloop"):  # the loop uvicorn runs the service on when it is installed
        import uvloop
        uvloop.run(_dispatcher_process(sys.argv[1], sys.argv[2]))
    else:
        asyncio.run(_dispatcher_process(sys.argv[1], sys.argv[2]))
