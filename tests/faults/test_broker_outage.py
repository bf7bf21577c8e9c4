"""The broker unreachable for 60 s while purchases keep arriving over HTTP at profile: every request is answered,
the outbox publishes every purchase once the broker is back, and each one takes effect exactly once, in
scoring's aggregates and in profile's purchase history."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from pathlib import Path

import httpx

from tests.support.apps import ADMIN_KEY, TEST_API_KEYS
from tests.support.kafka import eventually, read_until
from tests.support.processes import start_service, until_ready
from tests.support.purchases import Order, expected_totals, orders, scoring_totals
from tools.scratch_databases import fresh_database

OUTAGE_SECONDS = 60


async def test_purchases_posted_during_a_60_s_broker_outage_are_published_after_it_and_counted_once(
        broker_behind_proxy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    broker, network = broker_behind_proxy
    stream = orders(1_000, customers=40, seed=3, prefix=f"outage-{os.getpid()}")
    async with contextlib.AsyncExitStack() as stack:
        urls = {name: await stack.enter_async_context(fresh_database(os.environ.get("TEST_DATABASE_URL"),
                                                                     _scratch(tmp_path, name)))
                for name in ("profile", "scoring")}
        services = {name: start_service(name, database_url=url, broker=broker.bootstrap_servers,
                                        api_keys=TEST_API_KEYS, workdir=_scratch(tmp_path, name),
                                        extra_env={"CONSUMER_SESSION_TIMEOUT_MS": "3000"})
                    for name, url in urls.items()}
        for service in services.values():
            stack.callback(service.stop)
            await until_ready(service)
        profile = services["profile"].url
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10) as http:
            before, during = stream[:10], stream[10:]
            await _post(http, profile, before)
            await eventually(lambda: _scoring_counted(urls["scoring"], before), timeout=60)

            await network.cut()
            answers = await _post_for(http, profile, during, seconds=OUTAGE_SECONDS)
            still_unpublished = await _pending_in_outbox(http, profile)
            await network.start()

            assert {a.status_code for a in answers} == {201}, [a.text for a in answers if a.status_code != 201][:3]
            posted = before + during[:sum(len(a.json()["results"]) for a in answers)]
            assert still_unpublished > 0
            published = await read_until(broker.bootstrap_servers, "purchase-recorded",
                                         lambda rs: len({r.value for r in rs}) >= len(posted), timeout=120)
            assert _order_ids(published) == {o.order_id for o in posted}
            expected = expected_totals(posted)
            await eventually(lambda: _scoring_matches(urls["scoring"], expected), timeout=120, interval=0.5)
            for customer, totals in expected.items():
                history = await _purchase_history(http, profile, customer)
                assert sorted(history) == sorted(o.order_id for o in posted if o.customer_id == customer)
                assert len(history) == totals.purchase_count


async def _post(http: httpx.AsyncClient, profile: str, batch: list[Order]) -> httpx.Response:
    answer = await http.post(f"{profile}/purchases", json=[o.http_body() for o in batch])
    assert answer.status_code == 201, answer.text
    return answer


async def _post_for(http: httpx.AsyncClient, profile: str, stream: list[Order], *, seconds: float) -> list[httpx.Response]:
    """Batches of five, one every half second, until `seconds` have passed; each sent a second time as well
    (a client retrying), which must change nothing."""
    answers = []
    deadline = time.monotonic() + seconds
    position = 0
    while time.monotonic() < deadline and position < len(stream):
        batch = [o.http_body() for o in stream[position:position + 5]]
        answers.append(await http.post(f"{profile}/purchases", json=batch))
        retried = await http.post(f"{profile}/purchases", json=batch)
        assert retried.status_code == 201 and retried.json()["duplicates"] == len(batch), retried.text
        position += len(batch)
        await asyncio.sleep(0.5)
    return answers


async def _pending_in_outbox(http: httpx.AsyncClient, profile: str) -> float:
    metrics = (await http.get(f"{profile}/metrics")).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines() if line.startswith("cvp_outbox_pending"))


async def _purchase_history(http: httpx.AsyncClient, profile: str, customer: str) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = (await http.get(f"{profile}/customers/{customer}/purchases",
                               params={"limit": 100, **({"cursor": cursor} if cursor else {})})).json()
        ids += [item["order_id"] for item in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            return ids


async def _scoring_counted(database_url: str, batch: list[Order]) -> bool:
    totals = await scoring_totals(database_url)
    return sum(t.purchase_count for t in totals.values()) >= len(batch)


async def _scoring_matches(database_url: str, expected: dict) -> bool:  # type: ignore[type-arg]
    return await scoring_totals(database_url) == expected


def _order_ids(records: list) -> set[str]:  # type: ignore[type-arg]
    return {json.loads(r.value)["data"]["order_id"] for r in records}


def _scratch(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir(exist_ok=True)
    return path
