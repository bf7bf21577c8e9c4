"""Scoring keeps per-customer purchase aggregates from purchase-recorded events."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import AsyncIterator

import httpx
import pytest

from services.scoring.app import create_app
from services.scoring.settings import ScoringSettings
from shared.events.catalogue import CustomerErasedV1, PurchaseRecordedV1
from tests.support.apps import running_app, settings_for
from tests.support.kafka import eventually, publish_events, read_until


@pytest.fixture
async def scoring(database_url: str, broker: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(ScoringSettings, database_url=database_url, broker=broker,
                            currency_rates={"EUR": Decimal("1.10")})
    async with running_app(create_app, settings) as (_, http):
        yield http


def purchase(customer_id: str, order_id: str, amount: str, day: int, currency: str = "USD",
             source_system: str | None = None) -> PurchaseRecordedV1:
    # Order ids are unique per source system, so each test's orders carry its customer's id.
    return PurchaseRecordedV1(order_id=f"{customer_id}-{order_id}", customer_id=customer_id, total_amount=Decimal(amount),
                              currency=currency, occurred_at=datetime(2026, 1, day, tzinfo=timezone.utc),
                              source_system=source_system)


async def score_of(http: httpx.AsyncClient, customer_id: str) -> dict | None:  # type: ignore[type-arg]
    response = await http.get(f"/scores/{customer_id}")
    return response.json() if response.status_code == 200 else None


async def test_purchases_arriving_out_of_order_build_the_customers_aggregate(scoring, broker: str) -> None:  # type: ignore[no-untyped-def]
    customer_id = f"c-{uuid.uuid4().hex[:10]}"
    await publish_events(broker, [purchase(customer_id, "o-2", "30.00", 20), purchase(customer_id, "o-1", "10.00", 5),
                                  purchase(customer_id, "o-3", "100.00", 9, currency="EUR")], source="shop")
    score = await eventually(lambda: _score_with_count(scoring, customer_id, 3))
    assert score["total_spend"] == "150.000000"  # 30 + 10 + 100 EUR at 1.10
    assert score["first_purchase_at"] == "2026-01-05T00:00:00Z"
    assert score["last_purchase_at"] == "2026-01-20T00:00:00Z"


async def test_an_order_reported_by_the_gateway_and_by_its_source_counts_once(scoring, broker: str) -> None:  # type: ignore[no-untyped-def]
    customer_id = f"c-{uuid.uuid4().hex[:10]}"
    await publish_events(broker, [purchase(customer_id, "pos-1", "25.00", 3, source_system="pos")],
                         source="/services/profile")
    await publish_events(broker, [purchase(customer_id, "pos-1", "25.00", 3), purchase(customer_id, "pos-2", "5.00", 4)],
                         source="pos")
    score = await eventually(lambda: _score_with_count(scoring, customer_id, 2))
    assert score["total_spend"] == "30.000000"


async def test_a_purchase_in_an_unconfigured_currency_is_dead_lettered_with_the_reason(scoring, broker: str) -> None:  # type: ignore[no-untyped-def]
    customer_id = f"c-{uuid.uuid4().hex[:10]}"
    await publish_events(broker, [purchase(customer_id, "o-1", "10.00", 1, currency="XAU"),
                                  purchase(customer_id, "o-2", "10.00", 2)], source="shop")
    dead = await read_until(broker, "purchase-recorded.dlq", lambda rs: len(rs) >= 1, key=customer_id)
    assert dict(dead[0].headers)["dlq-reason"] == b"no exchange rate configured for currency XAU"
    assert json.loads(dead[0].value)["data"]["order_id"] == f"{customer_id}-o-1"
    score = await eventually(lambda: _score_with_count(scoring, customer_id, 1))
    assert score["total_spend"] == "10.000000"


async def test_an_erased_customer_leaves_no_aggregate_behind(scoring, broker: str) -> None:  # type: ignore[no-untyped-def]
    customer_id = f"c-{uuid.uuid4().hex[:10]}"
    await publish_events(broker, [purchase(customer_id, "o-1", "10.00", 1)], source="shop")
    await eventually(lambda: _score_with_count(scoring, customer_id, 1))
    await publish_events(broker, [CustomerErasedV1(customer_id=customer_id)], source="/services/profile")
    await eventually(lambda: _gone(scoring, customer_id))


async def _score_with_count(http: httpx.AsyncClient, customer_id: str, count: int) -> dict | None:  # type: ignore[type-arg]
    score = await score_of(http, customer_id)
    return score if score and score["purchase_count"] == count else None


async def _gone(http: httpx.AsyncClient, customer_id: str) -> bool:
    return (await http.get(f"/scores/{customer_id}")).status_code == 404
