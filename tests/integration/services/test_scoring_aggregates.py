"""Scoring keeps per-customer aggregates from purchase, refund, customer and feedback events."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, AsyncIterator

import httpx
import pytest

from shared.events.catalogue import (
    ComplaintOpenedV1,
    ComplaintResolvedV1,
    CustomerErasedV1,
    CustomerMergedV1,
    CustomerRegisteredV1,
    FeedbackReceivedV1,
    PurchaseRecordedV1,
    PurchaseRefundedV1,
)
from shared.events.envelope import encode, new_event
from tests.support.scoring import new_customer, publish_many, score_when, scoring_service
from tests.support.kafka import eventually, produce, read_until

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture(scope="module")
async def scoring(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with scoring_service(broker, tmp_path_factory.mktemp("scoring-aggregates"),
                               currency_rates={"EUR": Decimal("1.10")}) as (_, http):
        yield http


def purchase(customer_id: str, order_id: str, amount: str, days_ago: float, currency: str = "USD",
             source_system: str | None = None) -> PurchaseRecordedV1:
    # Order ids are unique per source system, so each test's orders carry its customer's id.
    return PurchaseRecordedV1(order_id=f"{customer_id}-{order_id}", customer_id=customer_id,
                              total_amount=Decimal(amount), currency=currency,
                              occurred_at=NOW - timedelta(days=days_ago), source_system=source_system)


def refund(customer_id: str, order_id: str, amount: str, refund_id: str | None = None) -> PurchaseRefundedV1:
    return PurchaseRefundedV1(order_id=f"{customer_id}-{order_id}", customer_id=customer_id, amount=Decimal(amount),
                              currency="USD", occurred_at=NOW - timedelta(hours=1), refund_id=refund_id,
                              reason="damaged")


def counted(count: int, **expected: Any) -> Any:
    return lambda score: score["purchase_count"] == count and all(score[k] == v for k, v in expected.items())


async def test_purchases_arriving_out_of_order_build_the_customers_aggregate(scoring, broker: str) -> None:  # type: ignore[no-untyped-def]
    customer_id = new_customer()
    await publish_many(broker, [purchase(customer_id, "o-2", "30.00", 10), purchase(customer_id, "o-1", "10.00", 40),
                                purchase(customer_id, "o-3", "100.00", 20, currency="EUR")])
    score = await score_when(scoring, customer_id, counted(3))
    assert score["total_spend"] == "150.000000"  # 30 + 10 + 100 EUR at 1.10
    assert score["first_purchase_at"] == (NOW - timedelta(days=40)).isoformat().replace("+00:00", "Z")
    assert score["last_purchase_at"] == (NOW - timedelta(days=10)).isoformat().replace("+00:00", "Z")


async def test_orders_on_the_same_day_count_as_one_purchase_day(scoring, broker: str) -> None:  # type: ignore[no-untyped-def]
    customer_id = new_customer()
    day = NOW.replace(hour=12, minute=0, second=0) - timedelta(days=5)
    orders = [PurchaseRecordedV1(order_id=f"{customer_id}-{n}", customer_id=customer_id, total_amount=Decimal("10"),
                                 currency="USD", occurred_at=day + timedelta(hours=hours))
              for n, hours in enumerate([-3, 0, 4])] + [purchase(customer_id, "later", "10", 1)]
    await publish_many(broker, orders)
    score = await score_when(scoring, customer_id, counted(4))
    assert score["purchase_days"] == 2
    assert score["rfm"]["frequency"] == 2
    assert score["lifecycle_stage"] == "repeat"


async def test_an_order_reported_by_the_gateway_and_by_its_source_counts_once(scoring, broker: str) -> None:  # type: ignore[no-untyped-def]
    customer_id = new_customer()
    await publish_many(broker, [purchase(customer_id, "pos-1", "25.00", 3, source_system="pos")],
                       source="/services/profile")
    await publish_many(broker, [purchase(customer_id, "pos-1", "25.00", 3), purchase(customer_id, "pos-2", "5.00", 2)],
                       source="pos")
    score = await score_when(scoring, customer_id, counted(2))
    assert score["total_spend"] == "30.000000"


async def test_a_purchase_in_an_unconfigured_currency_is_dead_lettered_with_the_reason(scoring, broker: str) -> None:  # type: ignore[no-untyped-def]
    customer_id = new_customer()
    await publish_many(broker, [purchase(customer_id, "o-1", "10.00", 1, currency="XAU"),
                                purchase(customer_id, "o-2", "10.00", 2)])
    dead = await read_until(broker, "purchase-recorded.dlq", lambda rs: len(rs) >= 1, key=customer_id)
    assert dict(dead[0].headers)["dlq-reason"] == b"no exchange rate configured for currency XAU"
    assert json.loads(dead[0].value)["data"]["order_id"] == f"{customer_id}-o-1"
    score = await score_when(scoring, customer_id, counted(1))
    assert score["total_spend"] == "10.000000"


@pytest.mark.parametrize("amount", ["-5.00", "ten dollars"])
async def test_a_negative_or_non_numeric_amount_is_dead_lettered(scoring, broker: str, amount: str) -> None:  # type: ignore[no-untyped-def]
    customer_id = new_customer()
    envelope = new_event(purchase(customer_id, "o-1", "1.00", 1), source="shop")
    record = json.loads(encode(envelope))
    record["data"]["total_amount"] = amount
    await produce(broker, "purchase-recorded", [(customer_id, json.dumps(record).encode())])
    await publish_many(broker, [purchase(customer_id, "o-2", "7.00", 1)])
    dead = await read_until(broker, "purchase-recorded.dlq", lambda rs: len(rs) >= 1, key=customer_id)
    assert b"total_amount" in dict(dead[0].headers)["dlq-reason"]
    assert (await score_when(scoring, customer_id, counted(1)))["total_spend"] == "7.000000"


async def test_a_purchase_dated_days_ahead_is_dead_lettered_and_one_minutes_ahead_is_clamped(scoring, broker: str) -> None:  # type: ignore[no-untyped-def]
    customer_id = new_customer()
    ahead = datetime.now(timezone.utc) + timedelta(minutes=10)
    await publish_many(broker, [purchase(customer_id, "far", "10.00", -3),
                                PurchaseRecordedV1(order_id=f"{customer_id}-near", customer_id=customer_id,
                                                   total_amount=Decimal("5"), currency="USD", occurred_at=ahead)])
    dead = await read_until(broker, "purchase-recorded.dlq", lambda rs: len(rs) >= 1, key=customer_id)
    assert b"is in the future" in dict(dead[0].headers)["dlq-reason"]
    score = await score_when(scoring, customer_id, counted(1))
    assert datetime.fromisoformat(score["last_purchase_at"]) < ahead


async def test_a_partial_refund_lowers_spend_and_a_full_refund_removes_the_purchase(scoring, broker: str) -> None:  # type: ignore[no-untyped-def]
    customer_id = new_customer()
    await publish_many(broker, [purchase(customer_id, "a", "100.00", 9), purchase(customer_id, "b", "50.00", 4)])
    await score_when(scoring, customer_id, counted(2))
    await publish_many(broker, [refund(customer_id, "a", "30.00", "r-1"), refund(customer_id, "a", "30.00", "r-1")])
    score = await score_when(scoring, customer_id, lambda s: s["refunded"] == "30.000000")
    assert (score["total_spend"], score["purchase_days"]) == ("120.000000", 2)
    await publish_many(broker, [refund(customer_id, "b", "50.00")])
    score = await score_when(scoring, customer_id, counted(1))
    assert (score["total_spend"], score["refunded"], score["purchase_days"]) == ("70.000000", "80.000000", 1)


async def test_a_refund_arriving_before_its_order_counts_once_the_order_arrives(scoring, broker: str) -> None:  # type: ignore[no-untyped-def]
    customer_id = new_customer()
    await publish_many(broker, [refund(customer_id, "early", "40.00", "r-1")])
    score = await score_when(scoring, customer_id, counted(0))
    assert (score["total_spend"], score["refunded"]) == ("0.000000", "0.000000")
    await publish_many(broker, [purchase(customer_id, "early", "100.00", 2)])
    score = await score_when(scoring, customer_id, counted(1))
    assert (score["total_spend"], score["refunded"]) == ("60.000000", "40.000000")


async def test_a_refund_larger_than_its_order_never_makes_spend_negative(scoring, broker: str) -> None:  # type: ignore[no-untyped-def]
    customer_id = new_customer()
    await publish_many(broker, [purchase(customer_id, "o", "20.00", 3), purchase(customer_id, "p", "5.00", 1),
                                refund(customer_id, "o", "50.00")])
    score = await score_when(scoring, customer_id, counted(1))
    assert (score["total_spend"], score["refunded"]) == ("5.000000", "20.000000")


async def test_a_registered_customer_is_a_prospect_until_the_first_purchase(scoring, broker: str) -> None:  # type: ignore[no-untyped-def]
    customer_id = new_customer()
    await publish_many(broker, [CustomerRegisteredV1(customer_id=customer_id)], source="/services/profile")
    score = await score_when(scoring, customer_id, counted(0))
    assert (score["lifecycle_stage"], score["tier"], score["rfm"]) == ("prospect", None, None)
    await publish_many(broker, [purchase(customer_id, "first", "12.00", 0.1)])
    assert (await score_when(scoring, customer_id, counted(1)))["lifecycle_stage"] == "first-time"
    changes = await read_until(broker, "lifecycle-stage-changed", lambda rs: len(rs) >= 2, key=customer_id)
    stages = [(json.loads(r.value)["data"]["previous_stage"], json.loads(r.value)["data"]["stage"]) for r in changes]
    assert stages == [(None, "prospect"), ("prospect", "first-time")]


async def test_a_detractor_and_an_open_complaint_raise_churn_risk_until_resolved(scoring, broker: str) -> None:  # type: ignore[no-untyped-def]
    customer_id = new_customer()
    await publish_many(broker, [purchase(customer_id, "o", "30.00", 2)])
    assert (await score_when(scoring, customer_id, counted(1)))["churn_risk"] == "low"
    await publish_many(broker, [FeedbackReceivedV1(response_id=f"{customer_id}-r", customer_id=customer_id,
                                                   kind="nps", score=2, responded_at=NOW)], source="/services/feedback")
    await score_when(scoring, customer_id, lambda s: s["churn_risk"] == "medium" and s["last_nps"] == 2)
    case = dict(case_id=f"{customer_id}-case", customer_id=customer_id, severity="high", category="delivery")
    await publish_many(broker, [ComplaintOpenedV1(**case)], source="/services/feedback")
    score = await score_when(scoring, customer_id, lambda s: s["churn_risk"] == "high")
    assert score["open_complaints"] == 1
    assert score["reasons"]["churn_risk"][-2:] == ["detractor: last NPS answer 2", "1 open complaint"]
    await publish_many(broker, [ComplaintResolvedV1(**case, resolution="refund issued")], source="/services/feedback")
    await score_when(scoring, customer_id, lambda s: s["churn_risk"] == "medium" and s["open_complaints"] == 0)
    events = await read_until(broker, "churn-risk-changed", lambda rs: len(rs) >= 4, key=customer_id)
    assert [json.loads(r.value)["data"]["risk"] for r in events] == ["low", "medium", "high", "medium"]


async def test_a_merged_customers_purchases_and_later_events_count_for_the_survivor(scoring, broker: str) -> None:  # type: ignore[no-untyped-def]
    surviving, merged = new_customer(), new_customer()
    await publish_many(broker, [purchase(surviving, "a", "10.00", 30), purchase(merged, "b", "20.00", 20)])
    await score_when(scoring, merged, counted(1))
    await publish_many(broker, [CustomerMergedV1(surviving_customer_id=surviving, merged_customer_id=merged)],
                       source="/services/profile")
    await score_when(scoring, surviving, counted(2, total_spend="30.000000"))
    await publish_many(broker, [purchase(merged, "c", "5.00", 1)])
    score = await score_when(scoring, surviving, counted(3))
    assert (score["purchase_days"], score["total_spend"]) == (3, "35.000000")
    assert (await scoring.get(f"/scores/{merged}")).json()["customer_id"] == surviving


async def test_an_erased_customer_leaves_no_aggregate_behind(scoring, broker: str) -> None:  # type: ignore[no-untyped-def]
    customer_id = new_customer()
    await publish_many(broker, [purchase(customer_id, "o-1", "10.00", 1)])
    await score_when(scoring, customer_id, counted(1))
    await publish_many(broker, [CustomerErasedV1(customer_id=customer_id)], source="/services/profile")
    await eventually(lambda: _gone(scoring, customer_id))
    history = (await scoring.get(f"/scores/{customer_id}/history")).json()
    assert history["items"] == []


async def _gone(http: httpx.AsyncClient, customer_id: str) -> bool:
    return (await http.get(f"/scores/{customer_id}")).status_code == 404
