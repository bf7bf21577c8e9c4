"""End to end: the four services as separate processes, joined only by Kafka."""
from __future__ import annotations

import importlib
import json
import os
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.apps import TEST_API_KEYS
from tools.scratch_databases import fresh_database
from tests.support.kafka import eventually, produce, read_until
from tests.support.processes import SERVICES, start_service, wait_until_ready

pytestmark = pytest.mark.e2e


def consumers_of(topic: str) -> list[str]:
    """The services (= consumer groups) that subscribe to `topic`."""
    consuming = []
    for name in SERVICES:
        app = importlib.import_module(f"services.{name}.app")
        settings = next(v for k, v in vars(importlib.import_module(f"services.{name}.settings")).items()
                        if k.endswith("Settings") and k != "ServiceSettings")()
        if topic in app.DEFINITION.consumed_topics(settings):
            consuming.append(name)
    return sorted(consuming)


def order(customer_id: str, order_id: str, amount: str) -> dict[str, object]:
    return {"source": "e2e-shop", "order_id": f"{customer_id}-{order_id}", "customer_id": customer_id,
            "occurred_at": "2026-05-01T12:00:00Z", "total_amount": amount, "currency": "USD",
            "items": [{"sku": "MUG", "category": "kitchen", "quantity": 1, "unit_price": amount}]}


async def json_when(http: httpx.AsyncClient, url: str, predicate) -> dict:  # type: ignore[no-untyped-def,type-arg]
    async def check() -> dict | None:  # type: ignore[type-arg]
        response = await http.get(url)
        body = response.json() if response.status_code == 200 else None
        return body if body is not None and predicate(body) else None
    return await eventually(check, timeout=60)  # type: ignore[return-value]


async def test_a_purchase_travels_from_profile_through_kafka_into_scoring_and_engagement(stack, http) -> None:  # type: ignore[no-untyped-def]
    customer_id = f"e2e-{uuid.uuid4().hex[:10]}"
    profile, scoring, engagement = stack["profile"].url, stack["scoring"].url, stack["engagement"].url
    response = await http.post(f"{profile}/purchases", json=[order(customer_id, "1", "40.00"),
                                                              order(customer_id, "2", "2.50")])
    assert response.status_code == 201

    score = await json_when(http, f"{scoring}/scores/{customer_id}", lambda s: s["purchase_count"] == 2)
    assert score["total_spend"] == "42.500000"
    loyalty = await json_when(http, f"{engagement}/loyalty/{customer_id}", lambda body: body["balance"] == 42)
    assert len(loyalty["recent"]) == 2


async def test_a_purchase_reported_again_changes_nothing_downstream(stack, http, broker: str) -> None:  # type: ignore[no-untyped-def]
    customer_id = f"e2e-{uuid.uuid4().hex[:10]}"
    profile, scoring = stack["profile"].url, stack["scoring"].url
    first = order(customer_id, "1", "10.00")
    await http.post(f"{profile}/purchases", json=first)
    await json_when(http, f"{scoring}/scores/{customer_id}", lambda s: s["purchase_count"] == 1)

    again = await http.post(f"{profile}/purchases", json=first)
    assert again.json()["status"] == "duplicate"
    replayed = await read_until(broker, "purchase-recorded", lambda rs: len(rs) >= 1, key=customer_id)
    await produce(broker, "purchase-recorded", [(customer_id, replayed[0].value)])  # a redelivery
    await http.post(f"{profile}/purchases", json=order(customer_id, "2", "1.00"))  # a marker after both

    score = await json_when(http, f"{scoring}/scores/{customer_id}", lambda s: s["purchase_count"] == 2)
    assert score["total_spend"] == "11.000000"


async def test_a_poison_record_lands_in_the_dlq_while_the_records_after_it_are_processed(stack, http, broker: str) -> None:  # type: ignore[no-untyped-def]
    customer_id = f"e2e-{uuid.uuid4().hex[:10]}"
    await produce(broker, "purchase-recorded", [(customer_id, b'{"specversion": "1.0", "type": "purchase-recorded"')])
    await http.post(f"{stack['profile'].url}/purchases", json=order(customer_id, "1", "5.00"))

    await json_when(http, f"{stack['scoring'].url}/scores/{customer_id}", lambda s: s["purchase_count"] == 1)
    consumers = consumers_of("purchase-recorded")
    dead = await read_until(broker, "purchase-recorded.dlq", lambda rs: len(rs) >= len(consumers), key=customer_id,
                            timeout=60)
    groups = sorted(dict(r.headers)["dlq-consumer-group"].decode() for r in dead)
    assert groups == consumers  # every consumer of the topic set it aside
    assert all(dict(r.headers)["dlq-error-type"] == b"UndecodableEvent" for r in dead)


async def test_erasing_a_customer_purges_what_every_service_holds(stack, http) -> None:  # type: ignore[no-untyped-def]
    customer_id = f"e2e-{uuid.uuid4().hex[:10]}"
    urls = {name: service.url for name, service in stack.items()}
    await http.post(f"{urls['profile']}/purchases", json=order(customer_id, "1", "30.00"))
    complaint = (await http.post(f"{urls['feedback']}/complaints", json={
        "customer_id": customer_id, "severity": "high", "category": "delivery", "description": "late"})).json()
    await json_when(http, f"{urls['scoring']}/scores/{customer_id}", lambda s: s["purchase_count"] == 1)
    await json_when(http, f"{urls['engagement']}/loyalty/{customer_id}", lambda body: body["balance"] == 30)

    assert (await http.delete(f"{urls['profile']}/customers/{customer_id}")).status_code == 204

    async def everything_purged() -> bool:
        score = await http.get(f"{urls['scoring']}/scores/{customer_id}")
        loyalty = (await http.get(f"{urls['engagement']}/loyalty/{customer_id}")).json()
        case = await http.get(f"{urls['feedback']}/complaints/{complaint['case_id']}")
        return score.status_code == 404 and loyalty["balance"] == 0 and case.status_code == 404
    await eventually(everything_purged, timeout=60)


async def test_services_stop_cleanly_on_sigterm(broker: str, tmp_path: Path) -> None:
    async with fresh_database(os.environ.get("TEST_DATABASE_URL"), tmp_path) as database_url:
        service = start_service("scoring", database_url=database_url, broker=broker, api_keys=TEST_API_KEYS,
                                workdir=tmp_path)
        wait_until_ready(service)
        exit_code = service.stop()
    log = service.log_path.read_text()
    assert exit_code in (0, -15), log[-2000:]  # uvicorn re-raises SIGTERM after a clean shutdown
    assert '"service stopped"' in log and "Traceback" not in log
    assert json.loads(log.strip().splitlines()[-1])["level"] in ("INFO", "WARNING")
