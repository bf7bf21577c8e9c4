"""Customers over HTTP: registration with validated details, search, PATCH, consent, privacy, erasure, export."""
from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from tests.support.profile import new_id
from tests.support.kafka import read_until


def ada(customer_id: str, **changes: Any) -> dict[str, Any]:
    return {"customer_id": customer_id, "given_name": "Ada", "family_name": "Lovelace",
            "email": f"Ada.{customer_id}@Example.COM", "phone": "+44 20 7946 0958",
            "address": {"line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH",
                        "country": "gb"},
            "region": "uk-south", "country": "gb", "timezone": "Europe/London", "locale": "en-GB",
            "birthday": "1990-12-10", "gender": "female", "tags": ["vip", "newsletter", "vip"],
            "attributes": {"loyalty_card": "LC-1", "shoe_size": 38, "prefers_paper": False},
            "external_ids": [{"source": "eshop", "id": f"E-{customer_id}"}, {"source": "eshop", "id": "E-old"},
                             {"source": "pos", "id": f"P-{customer_id}"}],
            "consents": [{"channel": "email", "purpose": "marketing", "granted": True, "source": "web-signup",
                          "occurred_at": "2026-01-01T10:00:00Z"}],
            **changes}


async def test_a_registered_customer_reads_back_normalised(profile) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    customer_id = new_id()
    created = await http.post("/customers", json=ada(customer_id))
    assert created.status_code == 201, created.text
    body = (await http.get(f"/customers/{customer_id}")).json()
    assert body["email"] == f"Ada.{customer_id}@example.com"
    assert body["phone"] == "+442079460958" and body["country"] == "GB" and body["address"]["country"] == "GB"
    assert body["tags"] == ["newsletter", "vip"] and body["attributes"]["shoe_size"] == 38
    assert {"source": "eshop", "id": "E-old"} in body["external_ids"] and len(body["external_ids"]) == 3
    assert body["consents"][0]["granted"] is True and body["consents"][0]["source"] == "web-signup"
    assert body["summary"]["orders"] == 0 and body["scores"]["tier"] is None


async def test_customer_registered_carries_shareable_attributes_and_no_contact_details(profile, broker: str) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    customer_id = new_id()
    await http.post("/customers", json=ada(customer_id))
    [record] = await read_until(broker, "customer-registered", lambda rs: len(rs) >= 1, key=customer_id)
    data = json.loads(record.value)["data"]
    assert data["birthday"] == "12-10" and data["country"] == "GB" and data["tags"] == ["newsletter", "vip"]
    assert data["consents"] == [{"channel": "email", "purpose": "marketing", "granted": True}]
    assert data["do_not_contact"] is False
    assert "Lovelace" not in record.value.decode() and "example.com" not in record.value.decode()


@pytest.mark.parametrize("field, value", [
    ("email", "ada@"), ("phone", "0207 946 0958"), ("phone", "+44 1"), ("timezone", "Mars/Olympus"),
    ("country", "XX"), ("birthday", "2999-01-01"), ("gender", "robot"), ("attributes", {"nested": {"a": 1}}),
    ("attributes", {"Bad Name": 1}), ("tags", [" padded"]),
    ("consents", [{"channel": "pigeon", "purpose": "marketing", "granted": True}]),
])
async def test_an_invalid_field_is_refused_naming_the_field(profile, field: str, value: Any) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    response = await http.post("/customers", json=ada(new_id(), **{field: value}))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"].startswith(f"body.{field}") for e in response.json()["errors"]), response.json()


async def test_consent_dated_in_the_future_is_refused(profile) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    consents = [{"channel": "sms", "purpose": "service", "granted": True, "occurred_at": "2999-01-01T00:00:00Z"}]
    response = await http.post("/customers", json=ada(new_id(), consents=consents))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.consents"


async def test_customers_are_found_by_name_email_phone_tag_region_and_external_id(profile) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    customer_id, other = new_id(), new_id()
    await http.post("/customers", json=ada(customer_id, tags=[f"t-{customer_id}"]))
    await http.post("/customers", json=ada(other, given_name="Charles", family_name="Babbage", phone="+33612345678"))
    searches = [{"email": f"ada.{customer_id}@EXAMPLE.com"}, {"tag": f"t-{customer_id}"},
                {"external_id": f"E-{customer_id}", "source": "eshop"}, {"external_id": f"P-{customer_id}"},
                {"name": "  LOVELACE ", "tag": f"t-{customer_id}"}, {"name": "ada lovelace", "tag": f"t-{customer_id}"},
                {"phone": "+44 20 7946 0958", "tag": f"t-{customer_id}"}, {"region": "uk-south", "tag": f"t-{customer_id}"}]
    for params in searches:
        found = (await http.get("/customers", params=params)).json()["items"]
        assert [c["customer_id"] for c in found] == [customer_id], params
    babbage = (await http.get("/customers", params={"name": "babbage", "phone": "+33 6 12 34 56 78"})).json()
    assert other in [c["customer_id"] for c in babbage["items"]]
    bad = await http.get("/customers", params={"email": "not-an-address"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.email"


async def test_personal_fields_are_encrypted_at_rest_and_searched_by_keyed_digest(profile) -> None:  # type: ignore[no-untyped-def]
    app, http = profile
    customer_id = new_id()
    await http.post("/customers", json=ada(customer_id))
    async with app.state.engine.connect() as connection:
        row = (await connection.execute(text("SELECT * FROM customers WHERE customer_id = :id"),
                                        {"id": customer_id})).mappings().one()
        keys = (await connection.execute(text("SELECT kind, digest FROM customer_search_keys WHERE customer_id = :id"),
                                         {"id": customer_id})).all()
    plain_columns = json.dumps({k: str(v) for k, v in row.items() if k != "personal_data"})
    sealed = bytes(row["personal_data"])
    for secret in (b"Lovelace", b"Ada", b"example.com", b"7946", b"James"):
        assert secret not in sealed
    assert "Lovelace" not in plain_columns and "example" not in plain_columns and "7946" not in plain_columns
    assert {kind for kind, _ in keys} == {"email", "phone", "name"}
    assert all(len(digest) == 64 and set(digest) <= set("0123456789abcdef") for _, digest in keys)  # keyed hashes, not text


async def test_patch_changes_only_what_is_sent_and_publishes_shareable_changes(profile, broker: str) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    customer_id = new_id()
    await http.post("/customers", json=ada(customer_id))
    response = await http.patch(f"/customers/{customer_id}", json={
        "email": "ada@lovelace.example.org", "attributes": {"shoe_size": 39, "prefers_paper": None},
        "tags": ["vip"], "phone": None})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["email"] == "ada@lovelace.example.org" and body["phone"] is None and body["given_name"] == "Ada"
    assert body["attributes"] == {"loyalty_card": "LC-1", "shoe_size": 39} and body["tags"] == ["vip"]
    assert (await http.get("/customers", params={"email": "ada@lovelace.example.org"})).json()["items"][0][
        "customer_id"] == customer_id
    assert (await http.get("/customers", params={"email": f"ada.{customer_id}@example.com"})).json()["items"] == []
    [updated] = await read_until(broker, "customer-updated", lambda rs: len(rs) >= 1, key=customer_id)
    assert json.loads(updated.value)["data"]["changed_fields"] == ["tags"]
    assert (await http.patch(f"/customers/{customer_id}", json={"birthday": "2999-01-01"})).status_code == 422
    assert (await http.patch(f"/customers/{new_id()}", json={"region": "x"})).status_code == 404


async def test_consent_withdrawal_and_do_not_contact_are_published_at_once_and_history_kept(profile, broker: str) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    customer_id = new_id()
    await http.post("/customers", json=ada(customer_id))
    withdraw = {"channel": "email", "purpose": "marketing", "granted": False, "source": "unsubscribe-link",
                "occurred_at": "2026-02-01T10:00:00Z"}
    late_grant = {"channel": "email", "purpose": "marketing", "granted": True, "source": "old-import",
                  "occurred_at": "2026-01-15T10:00:00Z"}
    await http.patch(f"/customers/{customer_id}", json={"consents": [withdraw, late_grant]})
    await http.patch(f"/customers/{customer_id}", json={"do_not_contact": True})
    records = await read_until(broker, "customer-updated", lambda rs: len(rs) >= 2, key=customer_id)
    first, second = (json.loads(r.value)["data"] for r in records)
    assert first["consents"] == [{"channel": "email", "purpose": "marketing", "granted": False}]
    assert first["changed_fields"] == ["consents"]
    assert second["do_not_contact"] is True and second["changed_fields"] == ["do_not_contact"]
    export = (await http.get(f"/customers/{customer_id}/export")).json()
    assert [h["source"] for h in export["consent_history"]] == ["web-signup", "old-import", "unsubscribe-link"]
    assert export["profile"]["consents"][0]["granted"] is False


async def test_export_holds_everything_known_about_the_customer(profile) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    customer_id = new_id()
    await http.post("/customers", json=ada(customer_id))
    await http.post("/purchases", json={"source": "web", "order_id": f"o-{customer_id}", "customer_id": customer_id,
                                        "occurred_at": "2026-03-01T10:00:00Z", "total_amount": "10.00",
                                        "currency": "EUR", "items": [{"sku": "S1", "quantity": 1,
                                                                      "unit_price": "10.00"}]})
    await http.post("/interactions", json={"customer_id": customer_id, "kind": "page_view", "channel": "web",
                                           "occurred_at": "2026-03-01T09:00:00Z", "properties": {"url": "/tea"}})
    export = (await http.get(f"/customers/{customer_id}/export")).json()
    assert export["profile"]["family_name"] == "Lovelace" and export["profile"]["address"]["city"] == "London"
    assert export["purchases"][0]["items"][0]["sku"] == "S1"
    assert export["interactions"][0]["properties"] == {"url": "/tea"}
    assert len(export["consent_history"]) == 1


async def test_erasure_removes_personal_data_keeps_anonymous_totals_and_is_published(profile, broker: str) -> None:  # type: ignore[no-untyped-def]
    app, http = profile
    customer_id = new_id()
    await http.post("/customers", json=ada(customer_id))
    await http.post("/purchases", json={"order_id": f"o-{customer_id}", "customer_id": customer_id,
                                        "occurred_at": "2026-03-01T10:00:00Z", "total_amount": "10.00",
                                        "currency": "EUR"})
    assert (await http.delete(f"/customers/{customer_id}")).status_code == 204
    assert (await http.get(f"/customers/{customer_id}")).status_code == 404
    assert (await http.get(f"/customers/{customer_id}/export")).status_code == 404
    async with app.state.engine.connect() as connection:
        row = (await connection.execute(text("SELECT personal_data, birthday, erased_at FROM customers "
                                             "WHERE customer_id = :id"), {"id": customer_id})).one()
        counts = [(await connection.scalar(text(f"SELECT count(*) FROM {table} WHERE customer_id = :id"),
                                           {"id": customer_id}))
                  for table in ("customer_search_keys", "customer_external_ids", "customer_tags",
                                "customer_consents", "consent_history", "purchases")]
    assert row.personal_data is None and row.birthday is None and row.erased_at is not None
    assert counts == [0, 0, 0, 0, 0, 1]
    await read_until(broker, "customer-erased", lambda rs: len(rs) >= 1, key=customer_id)
    assert (await http.get("/customers", params={"external_id": f"E-{customer_id}"})).json()["items"] == []


async def test_contact_lookup_answers_reachable_customers_and_lists_the_rest_as_missing(profile) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    reachable, quiet, erased, merged, unknown = (new_id() for _ in range(5))
    for customer_id in (reachable, quiet, erased, merged):
        await http.post("/customers", json=ada(customer_id))
    await http.patch(f"/customers/{quiet}", json={"do_not_contact": True})
    await http.delete(f"/customers/{erased}")
    await http.post(f"/customers/{reachable}/merge", json={"merged_customer_id": merged})
    response = await http.post("/customers/contact-lookup",
                               json={"customer_ids": [quiet, reachable, erased, merged, unknown, reachable]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(c["customer_id"], c["do_not_contact"]) for c in body["contacts"]] == sorted(
        [(reachable, False), (quiet, True)])
    contact = next(c for c in body["contacts"] if c["customer_id"] == reachable)
    assert contact == {"customer_id": reachable, "given_name": "Ada", "family_name": "Lovelace",
                       "email": f"Ada.{reachable}@example.com", "phone": "+442079460958", "do_not_contact": False}
    assert body["missing"] == sorted([erased, merged, unknown])


@pytest.mark.parametrize("ids", [[], ["bad id"], [f"c-{n}" for n in range(1001)]])
async def test_contact_lookup_refuses_an_empty_malformed_or_oversized_list(profile, ids: list[str]) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    response = await http.post("/customers/contact-lookup", json={"customer_ids": ids})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "customer_ids" in response.text
