"""Interactions, duplicate detection and merging of profiles."""
from __future__ import annotations

import json
from typing import Any


from tests.support.profile import new_id
from tests.support.kafka import read_until


def interaction(customer_id: str, **changes: Any) -> dict[str, Any]:
    return {"customer_id": customer_id, "kind": "product_view", "channel": "web",
            "occurred_at": "2026-03-01T10:00:00Z", "properties": {"sku": "TEA-1", "price": 9.5}, **changes}


async def test_interactions_are_recorded_once_and_published(profile, broker: str) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    customer_id = new_id()
    single = await http.post("/interactions", json=interaction(customer_id, interaction_id=f"i-{customer_id}"))
    assert single.status_code == 201 and single.json()["status"] == "recorded"
    batch = await http.post("/interactions", json=[
        interaction(customer_id, interaction_id=f"i-{customer_id}"),
        interaction(customer_id, kind="cart_add"), interaction(customer_id, kind="email_open", channel="email")])
    assert [r["status"] for r in batch.json()] == ["duplicate", "recorded", "recorded"]
    records = await read_until(broker, "interaction-recorded", lambda rs: len(rs) >= 3, key=customer_id)
    kinds = sorted(json.loads(r.value)["data"]["kind"] for r in records)
    assert kinds == ["cart_add", "email_open", "product_view"]
    assert (await http.get(f"/customers/{customer_id}")).status_code == 200  # a prospect was created


async def test_a_bad_interaction_is_refused_naming_the_field(profile) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    response = await http.post("/interactions", json=interaction(new_id(), kind="teleport",
                                                                 properties={"nested": {"a": 1}}))
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert "body.InteractionCreate.kind" in fields
    assert any(f.startswith("body.InteractionCreate.properties.nested") for f in fields)


async def test_duplicates_are_found_by_email_phone_and_external_id(profile) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    first, by_email, by_card, stranger = new_id(), new_id(), new_id(), new_id()
    email = f"{first}@example.com"
    await http.post("/customers", json={"customer_id": first, "email": email, "phone": "+33612345678",
                                        "external_ids": [{"source": "loyalty", "id": f"card-{first}"}]})
    await http.post("/customers", json={"customer_id": by_email, "email": email.upper()})
    await http.post("/customers", json={"customer_id": by_card,
                                        "external_ids": [{"source": "loyalty", "id": f"card-{first}"}]})
    await http.post("/customers", json={"customer_id": stranger, "email": f"{stranger}@example.com"})
    found = (await http.get(f"/customers/{first}/duplicates")).json()
    assert {d["customer_id"]: d["matched_on"] for d in found if d["customer_id"] in (by_email, by_card, stranger)} \
        == {by_email: ["email"], by_card: ["external_id:loyalty"]}


async def test_merging_moves_history_fills_blanks_and_is_published(profile, broker: str) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    survivor, merged = new_id(), new_id()
    await http.post("/customers", json={
        "customer_id": survivor, "given_name": "Ada", "tags": ["vip"], "attributes": {"size": 38},
        "consents": [{"channel": "email", "purpose": "marketing", "granted": True,
                      "occurred_at": "2026-01-01T00:00:00Z"}]})
    await http.post("/customers", json={
        "customer_id": merged, "given_name": "Adah", "email": f"{merged}@example.com", "tags": ["newsletter"],
        "attributes": {"size": 40, "colour": "green"}, "external_ids": [{"source": "pos", "id": f"P-{merged}"}],
        "consents": [{"channel": "email", "purpose": "marketing", "granted": False,
                      "occurred_at": "2026-02-01T00:00:00Z"}]})
    await http.post("/purchases", json={"order_id": f"o-{merged}", "customer_id": merged, "total_amount": "12.00",
                                        "occurred_at": "2026-03-01T10:00:00Z", "currency": "EUR"})
    response = await http.post(f"/customers/{survivor}/merge", json={"merged_customer_id": merged})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["given_name"] == "Ada" and body["email"] == f"{merged}@example.com"
    assert body["tags"] == ["newsletter", "vip"] and body["attributes"] == {"size": 38, "colour": "green"}
    assert body["external_ids"] == [{"source": "pos", "id": f"P-{merged}"}]
    assert body["consents"][0]["granted"] is False  # the latest answer, from the merged profile
    assert (await http.get(f"/customers/{survivor}")).json()["summary"]["orders"] == 1
    gone = await http.get(f"/customers/{merged}")
    assert gone.status_code == 404 and gone.json()["merged_into"] == survivor
    later = await http.post("/purchases", json={"order_id": f"o2-{merged}", "customer_id": merged,
                                                "total_amount": "3.00", "occurred_at": "2026-03-02T10:00:00Z",
                                                "currency": "EUR"})
    assert later.json()["customer_id"] == merged
    assert (await http.get(f"/customers/{survivor}")).json()["summary"]["orders"] == 2
    [event] = await read_until(broker, "customer-merged", lambda rs: len(rs) >= 1, key=survivor)
    assert json.loads(event.value)["data"] == {"surviving_customer_id": survivor, "merged_customer_id": merged}


async def test_a_merge_into_itself_or_of_an_unknown_customer_is_refused(profile) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    customer_id = new_id()
    await http.post("/customers", json={"customer_id": customer_id})
    itself = await http.post(f"/customers/{customer_id}/merge", json={"merged_customer_id": customer_id})
    assert itself.status_code == 422 and itself.json()["errors"][0]["field"] == "body.merged_customer_id"
    unknown = await http.post(f"/customers/{customer_id}/merge", json={"merged_customer_id": new_id()})
    assert unknown.status_code == 404
