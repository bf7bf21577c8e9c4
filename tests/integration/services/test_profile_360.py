"""Refunds (HTTP and Kafka) and the customer 360: purchase summary plus scoring and feedback projections."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from shared.events.catalogue import (
    ChurnRiskChangedV1,
    FeedbackReceivedV1,
    LifecycleStageChangedV1,
    PurchaseRefundedV1,
    RfmV1,
    TierChangedV1,
)
from shared.events.envelope import encode, new_event
from tests.support.profile import new_id
from tests.support.kafka import eventually, produce, publish_events, read_until


def order(customer_id: str, order_id: str, total: str, *, channel: str = "web", categories: tuple[str, ...] = ("tea",),
          at: str = "2026-03-01T10:00:00Z") -> dict[str, Any]:
    return {"source": "shop", "order_id": order_id, "customer_id": customer_id, "occurred_at": at,
            "total_amount": total, "currency": "EUR", "channel": channel,
            "items": [{"sku": f"S-{c}", "category": c, "quantity": 1, "unit_price": total} for c in categories]}


def refund(customer_id: str, order_id: str, amount: str, **changes: Any) -> dict[str, Any]:
    return {"source": "shop", "order_id": order_id, "customer_id": customer_id,
            "occurred_at": "2026-03-05T10:00:00Z", "amount": amount, "currency": "EUR", "reason": "damaged",
            **changes}


async def summary(http: httpx.AsyncClient, customer_id: str) -> dict[str, Any]:
    return (await http.get(f"/customers/{customer_id}")).json()["summary"]  # type: ignore[no-any-return]


async def test_a_refund_reduces_net_spend_and_is_published(profile, broker: str) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    customer_id = new_id()
    await http.post("/purchases", json=[order(customer_id, f"{customer_id}-1", "60.00"),
                                        order(customer_id, f"{customer_id}-2", "40.00", channel="store",
                                              categories=("coffee", "tea"))])
    response = await http.post("/refunds", json=refund(customer_id, f"{customer_id}-1", "15.00", refund_id="r-1"))
    assert response.status_code == 201 and response.json()["status"] == "recorded"
    again = await http.post("/refunds", json=refund(customer_id, f"{customer_id}-1", "15.00", refund_id="r-1"))
    assert again.json()["status"] == "duplicate"
    result = await summary(http, customer_id)
    assert result["orders"] == 2 and float(result["net_spend"]) == 85.0 and float(result["refunded"]) == 15.0
    assert result["average_order_value"] == "42.50"
    assert result["favourite_categories"] == ["tea", "coffee"] and result["channels"] == ["store", "web"]
    assert result["first_purchase_at"].startswith("2026-03-01")
    [published] = await read_until(broker, "purchase-refunded", lambda rs: len(rs) >= 1, key=customer_id)
    data = json.loads(published.value)["data"]
    assert data["refund_id"] == "r-1" and data["source_system"] == "shop" and data["amount"] == "15.00"


async def test_a_refund_for_an_unknown_order_or_beyond_what_was_paid_is_refused(profile) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    customer_id = new_id()
    await http.post("/purchases", json=order(customer_id, f"{customer_id}-1", "20.00"))
    unknown = await http.post("/refunds", json=refund(customer_id, f"{customer_id}-nope", "5.00"))
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "body.order_id"
    await http.post("/refunds", json=refund(customer_id, f"{customer_id}-1", "15.00"))
    too_much = await http.post("/refunds", json=refund(customer_id, f"{customer_id}-1", "5.01", refund_id="r-2"))
    assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "body.amount"
    other = await http.post("/refunds", json=refund(new_id(), f"{customer_id}-1", "1.00", refund_id="r-3"))
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "body.customer_id"
    assert float((await summary(http, customer_id))["net_spend"]) == 5.0


async def test_refunds_from_kafka_count_once_and_an_unknown_order_is_dead_lettered(profile, broker: str) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    customer_id = new_id()
    await http.post("/purchases", json=order(customer_id, f"{customer_id}-1", "30.00"))
    good = PurchaseRefundedV1(order_id=f"{customer_id}-1", customer_id=customer_id, source_system="shop",
                              occurred_at=datetime(2026, 3, 6, tzinfo=UTC), amount="10.00", currency="EUR")  # type: ignore[arg-type]
    unknown = good.model_copy(update={"order_id": f"{customer_id}-missing"})
    envelope = new_event(good, source="shop")
    await produce(broker, "purchase-refunded", [(customer_id, encode(envelope))] * 2)
    await publish_events(broker, [unknown], source="shop")
    dead = await read_until(broker, "purchase-refunded.dlq", lambda rs: len(rs) >= 1, key=customer_id)
    assert b"is not known" in dict(dead[0].headers)["dlq-reason"]

    async def refunded() -> bool:
        return float((await summary(http, customer_id))["refunded"]) == 10.0
    await eventually(refunded, timeout=30)


async def test_scores_and_feedback_from_other_services_show_in_the_360_view(profile, broker: str) -> None:  # type: ignore[no-untyped-def]
    app, http = profile
    customer_id = new_id()
    await http.post("/customers", json={"customer_id": customer_id})
    rfm = RfmV1(r=5, f=4, m=5)
    events = [
        TierChangedV1(customer_id=customer_id, tier="high-value", rfm=rfm, clv="812.50", currency="EUR"),  # type: ignore[arg-type]
        LifecycleStageChangedV1(customer_id=customer_id, stage="loyal"),
        ChurnRiskChangedV1(customer_id=customer_id, risk="low", p_alive=0.93),
        FeedbackReceivedV1(response_id=f"r-{customer_id}", customer_id=customer_id, kind="nps", score=9),
        FeedbackReceivedV1(response_id=f"r2-{customer_id}", customer_id=customer_id, kind="csat", score=4),
    ]
    await publish_events(broker, events, source="/services/scoring")
    late = new_event(LifecycleStageChangedV1(customer_id=customer_id, stage="at-risk"), source="/services/scoring")
    late = late.model_copy(update={"time": datetime.now(UTC) - timedelta(days=2)})
    await produce(broker, "lifecycle-stage-changed", [(customer_id, encode(late))])

    async def scores() -> dict[str, Any] | None:
        found = (await http.get(f"/customers/{customer_id}")).json()["scores"]
        return found if found["csat"] is not None and found["churn_risk"] is not None else None

    async def late_one_applied() -> bool:  # the inbox holds the id once the event was processed
        async with app.state.engine.connect() as connection:
            return bool(await connection.scalar(text("SELECT count(*) FROM inbox WHERE event_id = :id"),
                                                {"id": late.id}))
    await eventually(late_one_applied, timeout=30)
    found = await eventually(scores, timeout=30)
    assert found == {"tier": "high-value", "lifecycle_stage": "loyal", "clv": "812.500000", "clv_currency": "EUR",  # type: ignore[comparison-overlap]
                     "churn_risk": "low", "p_alive": 0.93, "nps": 9, "csat": 4}


async def test_the_360_view_is_still_served_after_the_database_dropped_its_pooled_connections(profile) -> None:  # type: ignore[no-untyped-def]
    app, http = profile
    customer_id = new_id()
    assert (await http.post("/purchases", json=order(customer_id, f"{customer_id}-o-1", "12.00"))).status_code == 201
    assert (await http.get(f"/customers/{customer_id}")).status_code == 200
    if app.state.engine.dialect.name == "postgresql":  # SQLite has no server to drop connections
        async with app.state.engine.connect() as connection:
            await connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    response = await http.get(f"/customers/{customer_id}")
    assert response.status_code == 200 and response.json()["summary"]["orders"] == 1
