"""Profile records purchases from HTTP and Kafka and publishes them through the outbox."""
from __future__ import annotations

import json
import uuid


from shared.events.catalogue import PurchaseRecordedV1
from tests.support.kafka import eventually, publish_events, read_until


def new_customer_id() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"


def order(customer_id: str, order_id: str = "o-1", **changes: object) -> dict[str, object]:
    # Order ids are unique per source system, and the tests of this module share one database.
    return {"source": "web-shop", "order_id": f"{customer_id}-{order_id}", "customer_id": customer_id,
            "occurred_at": "2026-03-01T10:00:00Z", "total_amount": "19.90", "currency": "USD",
            "items": [{"sku": "TEA-1", "name": "Green tea", "category": "tea", "quantity": 2, "unit_price": "9.95"}],
            **changes}


async def test_a_purchase_for_an_unknown_customer_creates_a_prospect_and_is_published(profile, broker: str) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    customer_id = new_customer_id()
    response = await http.post("/purchases", json=order(customer_id), headers={"X-Correlation-ID": "corr-42"})
    assert response.status_code == 201 and response.json()["status"] == "recorded"

    customer = (await http.get(f"/customers/{customer_id}")).json()
    assert customer["summary"]["orders"] == 1 and customer["summary"]["net_spend"] == "19.900000"
    published = await read_until(broker, "purchase-recorded", lambda rs: len(rs) >= 1, key=customer_id)
    event = json.loads(published[0].value)
    assert event["source"] == "/services/profile" and event["correlationid"] == "corr-42"
    assert event["data"]["source_system"] == "web-shop" and event["data"]["items"][0]["sku"] == "TEA-1"
    registered = await read_until(broker, "customer-registered", lambda rs: len(rs) >= 1, key=customer_id)
    assert json.loads(registered[0].value)["data"]["customer_id"] == customer_id


async def test_the_same_order_reported_twice_is_recorded_once(profile) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    customer_id = new_customer_id()
    batch = [order(customer_id, "o-1"), order(customer_id, "o-2")]
    first = (await http.post("/purchases", json=batch)).json()
    again = (await http.post("/purchases", json=[order(customer_id, "o-2"), order(customer_id, "o-3")])).json()
    assert (first["recorded"], first["duplicates"]) == (2, 0)
    assert (again["recorded"], again["duplicates"]) == (1, 1)
    purchases = (await http.get(f"/customers/{customer_id}/purchases")).json()["items"]
    assert sorted(p["order_id"] for p in purchases) == [f"{customer_id}-o-{n}" for n in (1, 2, 3)]


async def test_orders_published_to_kafka_by_other_systems_join_the_history_once(profile, broker: str) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    customer_id = new_customer_id()
    over_http = await http.post("/purchases", json=order(customer_id, "pos-1", source="pos"))
    assert over_http.json()["status"] == "recorded"
    events = [PurchaseRecordedV1.model_validate({**order(customer_id, order_id), "source_system": None})
              for order_id in ("pos-1", "pos-2")]
    await publish_events(broker, events, source="pos")

    async def order_ids() -> list[str]:
        items = (await http.get(f"/customers/{customer_id}/purchases")).json()["items"]
        return sorted(p["order_id"] for p in items)

    await eventually(lambda: _has(order_ids(), [f"{customer_id}-pos-1", f"{customer_id}-pos-2"]), timeout=30)


async def test_a_purchase_for_an_erased_customer_is_refused(profile) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    customer_id = new_customer_id()
    await http.post("/purchases", json=order(customer_id))
    assert (await http.delete(f"/customers/{customer_id}")).status_code == 204
    response = await http.post("/purchases", json=order(customer_id, "o-after"))
    assert response.status_code == 409
    assert customer_id in response.json()["detail"]
    assert (await http.get(f"/customers/{customer_id}")).status_code == 404


async def test_an_order_from_kafka_for_an_erased_customer_is_dead_lettered_and_the_others_are_applied(
        profile, broker: str) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    erased, alive = new_customer_id(), new_customer_id()
    await http.post("/purchases", json=order(erased))
    assert (await http.delete(f"/customers/{erased}")).status_code == 204
    events = [PurchaseRecordedV1.model_validate({**order(customer_id, "k-1"), "source_system": None})
              for customer_id in (erased, alive)]
    await publish_events(broker, events, source="pos")

    dead = await read_until(broker, "purchase-recorded.dlq", lambda rs: len(rs) >= 1, key=erased)
    assert b"has been erased" in dict(dead[0].headers)["dlq-reason"]

    async def alive_order_ids() -> list[str]:
        return [p["order_id"] for p in (await http.get(f"/customers/{alive}/purchases")).json()["items"]]
    await eventually(lambda: _has(alive_order_ids(), [f"{alive}-k-1"]), timeout=30)
    assert (await http.get(f"/customers/{erased}")).status_code == 404


async def test_a_batch_over_1000_orders_is_refused(profile) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    customer_id = new_customer_id()
    response = await http.post("/purchases", json=[order(customer_id, f"o-{i}") for i in range(1001)])
    assert response.status_code in (413, 422)


async def _has(coroutine, expected: list[str]) -> bool:  # type: ignore[no-untyped-def]
    return await coroutine == expected
