"""Segments: preview, dynamic and static segments, membership kept up to date with history, CSV export."""
from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from services.profile.models import Customer
from services.profile.segment_handlers import CONDITION, attribute_types
from services.profile.segment_sql import compile_condition
from tests.support.kafka import eventually, read_until


def days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


async def customer(http: httpx.AsyncClient, run: str, name: str, **fields: Any) -> str:
    customer_id = f"{run}-{name}"
    response = await http.post("/customers", json={"customer_id": customer_id, "tags": [run], **fields})
    assert response.status_code == 201, response.text
    return customer_id


async def buy(http: httpx.AsyncClient, customer_id: str, *amounts_and_days: tuple[str, int],
              category: str = "tea") -> None:
    orders = [{"source": "seg", "order_id": f"{customer_id}-{uuid.uuid4().hex[:6]}", "customer_id": customer_id,
               "occurred_at": days_ago(days), "total_amount": amount, "currency": "EUR",
               "items": [{"sku": "S", "category": category, "quantity": 1, "unit_price": amount}]}
              for amount, days in amounts_and_days]
    assert (await http.post("/purchases", json=orders)).status_code == 201


def mine(run: str, rule: dict[str, Any]) -> dict[str, Any]:
    """Restrict a rule to this test's customers (the module shares one database)."""
    return {"all": [{"tag": run}, rule]}


async def matches(http: httpx.AsyncClient, definition: dict[str, Any]) -> list[str]:
    response = await http.post("/segments/preview", json={"definition": definition})
    assert response.status_code == 200, response.text
    return sorted(response.json()["sample"])


async def test_preview_combines_attributes_tags_age_consent_and_purchase_windows(profile) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    run = f"r{uuid.uuid4().hex[:8]}"
    grant = [{"channel": "email", "purpose": "marketing", "granted": True}]
    ann = await customer(http, run, "ann", region="north", birthday="1980-05-01", gender="female",
                         attributes={"shoe_size": 38, "plan": "gold"}, consents=grant)
    bob = await customer(http, run, "bob", region="north", birthday="2005-05-01", gender="male",
                         attributes={"shoe_size": 44, "plan": "free"}, consents=grant, do_not_contact=True)
    cat = await customer(http, run, "cat", region="south", attributes={"plan": "gold"})
    await buy(http, ann, ("50.00", 10), ("30.00", 40), ("100.00", 200))
    await buy(http, bob, ("5.00", 5), category="coffee")
    await buy(http, cat, ("500.00", 300))

    assert await matches(http, mine(run, {"field": "region", "op": "eq", "value": "north"})) == [ann, bob]
    assert await matches(http, mine(run, {"attribute": "shoe_size", "op": "lt", "value": 40})) == [ann]
    assert await matches(http, mine(run, {"attribute": "plan", "op": "in", "value": ["gold"]})) == [ann, cat]
    assert await matches(http, mine(run, {"field": "age", "op": "gte", "value": 40})) == [ann]
    assert await matches(http, mine(run, {"consent": {"channel": "email", "purpose": "marketing"}})) == [ann]
    assert await matches(http, mine(run, {"purchases": {"metric": "count", "days": 90, "op": "gte",
                                                        "value": 2}})) == [ann]
    assert await matches(http, mine(run, {"purchases": {"metric": "sum", "days": 90, "op": "lt",
                                                        "value": 10}})) == [bob, cat]  # cat: nothing in 90 days
    assert await matches(http, mine(run, {"purchases": {"metric": "average", "op": "gt", "value": 100}})) == [cat]
    assert await matches(http, mine(run, {"purchases": {"metric": "count", "category": "coffee", "op": "gte",
                                                        "value": 1}})) == [bob]
    assert await matches(http, mine(run, {"any": [{"field": "gender", "op": "eq", "value": "male"},
                                                  {"not": {"field": "region", "op": "eq", "value": "north"}}]})) \
        == [bob, cat]


async def test_purchase_and_interaction_conditions_select_the_same_customers_counted_either_way(profile) -> None:  # type: ignore[no-untyped-def]
    app, http = profile
    run = f"r{uuid.uuid4().hex[:8]}"
    ann, bob, cat = [await customer(http, run, name) for name in ("ann", "bob", "cat")]
    await buy(http, ann, ("50.00", 10), ("30.00", 40), ("100.00", 200))
    await buy(http, bob, ("5.00", 5), category="coffee")
    await buy(http, cat, ("500.00", 300))
    expected = {
        json.dumps({"purchases": {"metric": "count", "days": 90, "op": "gte", "value": 2}}): [ann],
        json.dumps({"purchases": {"metric": "count", "days": 90, "op": "lte", "value": 1}}): [bob, cat],
        json.dumps({"purchases": {"metric": "sum", "days": 90, "op": "lt", "value": 10}}): [bob, cat],
        json.dumps({"purchases": {"metric": "average", "op": "gt", "value": 100}}): [cat],
        json.dumps({"purchases": {"metric": "distinct_categories", "op": "gte", "value": 1}}): [ann, bob, cat],
        json.dumps({"purchases": {"metric": "count", "category": "coffee", "op": "gte", "value": 1}}): [bob],
        json.dumps({"interactions": {"kind": "page_view", "days": 30, "op": "eq", "value": 0}}): [ann, bob, cat],
    }
    async with app.state.unit_of_work() as uow:
        types = await attribute_types(uow.session)
        for definition, members in expected.items():
            rule = CONDITION.validate_python(json.loads(definition))
            for narrowed in (False, True):  # for everyone and matched, or for each remaining customer
                predicate = compile_condition(rule, now=datetime.now(UTC), attribute_types=types, narrowed=narrowed)
                found = await uow.session.scalars(select(Customer.customer_id).where(
                    predicate, Customer.customer_id.in_([ann, bob, cat])).order_by(Customer.customer_id))
                assert (definition, narrowed, list(found)) == (definition, narrowed, members)


async def test_a_definition_that_cannot_hold_is_refused_naming_the_field(profile) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    run = f"r{uuid.uuid4().hex[:8]}"
    await customer(http, run, "ann", attributes={f"size_{run}": 38})
    wrong_type = await http.post("/segments/preview", json={"definition": {
        "attribute": f"size_{run}", "op": "eq", "value": "large"}})
    assert wrong_type.status_code == 422 and "number" in wrong_type.json()["detail"]
    for bad in ({"field": "age", "op": "gte", "value": "old"}, {"bogus": 1},
                {"purchases": {"metric": "max", "op": "gt", "value": 1}}):
        response = await http.post("/segments/preview", json={"definition": bad})
        assert response.status_code == 422 and response.json()["errors"][0]["field"].startswith("body.definition")
    conflict = await http.patch(f"/customers/{run}-ann", json={"attributes": {f"size_{run}": "large"}})
    assert conflict.status_code == 422 and conflict.json()["errors"][0]["field"] == f"body.attributes.size_{run}"


async def test_dynamic_membership_follows_new_data_publishes_changes_and_keeps_history(profile, broker: str) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    run = f"r{uuid.uuid4().hex[:8]}"
    ann = await customer(http, run, "ann", region="north")
    bob = await customer(http, run, "bob", region="south")
    created = await http.post("/segments", json={"name": f"north {run}", "definition": mine(run, {
        "field": "region", "op": "eq", "value": "north"})})
    assert created.status_code == 201, created.text
    segment = created.json()
    assert segment["members"] == 1 and segment["kind"] == "dynamic"
    before_move = datetime.now(UTC)

    await http.patch(f"/customers/{ann}", json={"region": "south"})
    await http.patch(f"/customers/{bob}", json={"region": "north"})

    async def members(**params: str) -> list[str]:
        page = (await http.get(f"/segments/{segment['segment_id']}/members", params=params)).json()
        return [m["customer_id"] for m in page["items"]]
    await eventually(lambda: _equals(members(), [bob]), timeout=20)
    assert await members(at=before_move.isoformat()) == [ann]
    events = await read_until(broker, "segment-membership-changed", lambda rs: len(rs) >= 2, key=ann)
    assert [json.loads(r.value)["data"]["change"] for r in events] == ["entered", "exited"]
    duplicate = await http.post("/segments", json={"name": f"north {run}", "customer_ids": [ann]})
    assert duplicate.status_code == 409


async def test_purchases_move_customers_into_a_purchase_window_segment(profile) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    run = f"r{uuid.uuid4().hex[:8]}"
    ann = await customer(http, run, "ann")
    created = (await http.post("/segments", json={"name": f"buyers {run}", "definition": mine(run, {
        "purchases": {"metric": "sum", "days": 30, "op": "gte", "value": 100}})})).json()
    assert created["members"] == 0
    await buy(http, ann, ("60.00", 3), ("60.00", 4))

    async def member_count() -> int:
        return (await http.get(f"/segments/{created['segment_id']}")).json()["members"]  # type: ignore[no-any-return]
    await eventually(lambda: _equals(member_count(), 1), timeout=20)


async def test_a_static_segment_holds_the_uploaded_list_and_exports_as_csv(profile) -> None:  # type: ignore[no-untyped-def]
    _, http = profile
    run = f"r{uuid.uuid4().hex[:8]}"
    ids = [await customer(http, run, f"c{i}") for i in range(3)]
    created = await http.post("/segments", json={"name": f"list {run}", "customer_ids": ids + [f"{run}-nobody"]})
    assert created.status_code == 201
    body = created.json()
    assert body["kind"] == "static" and body["members"] == 3 and body["skipped_customer_ids"] == [f"{run}-nobody"]
    first = (await http.get(f"/segments/{body['segment_id']}/members", params={"limit": 2})).json()
    rest = (await http.get(f"/segments/{body['segment_id']}/members",
                           params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert [m["customer_id"] for m in first["items"] + rest["items"]] == sorted(ids)
    export = await http.get(f"/segments/{body['segment_id']}/export")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0] == ["customer_id", "entered_at"] and [r[0] for r in rows[1:]] == sorted(ids)
    assert (await http.delete(f"/customers/{ids[0]}")).status_code == 204
    assert (await http.get(f"/segments/{body['segment_id']}")).json()["members"] == 2
    assert (await http.get("/segments/seg-nope/members")).status_code == 404


async def _equals(value, expected) -> bool:  # type: ignore[no-untyped-def]
    return await value == expected
