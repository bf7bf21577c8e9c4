"""HTTP conventions every service shares, exercised through the profile service in-process."""
from __future__ import annotations

import uuid
from typing import AsyncIterator

import httpx
import pytest

from services.profile.app import create_app
from services.profile.settings import ProfileSettings
from tests.support.apps import READER_KEY, running_app, settings_for

PROBLEM = "application/problem+json"


@pytest.fixture
async def client(database_url: str, broker: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(create_app, settings_for(ProfileSettings, database_url=database_url, broker=broker,
                                                     max_body_bytes=64 * 1024)) as (_, http):
        yield http


def order(customer_id: str, order_id: str = "o-1", amount: str = "19.90") -> dict[str, object]:
    return {"order_id": order_id, "customer_id": customer_id, "occurred_at": "2026-03-01T10:00:00Z",
            "total_amount": amount, "currency": "USD"}


async def test_a_request_without_an_api_key_is_refused_with_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/customers", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"] == "Bearer"


async def test_an_unknown_api_key_is_refused_with_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/customers", headers={"Authorization": "Bearer not-a-key"})
    assert response.status_code == 401


async def test_a_key_without_the_scope_is_refused_with_403(client: httpx.AsyncClient) -> None:
    response = await client.post("/purchases", json=order("c-1"), headers={"Authorization": f"Bearer {READER_KEY}"})
    assert response.status_code == 403
    assert response.json()["required_scope"] == "profile:write"


async def test_validation_errors_are_problems_that_name_each_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/purchases", json={**order("c-1"), "total_amount": 19.9, "currency": "dollars"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"body.PurchaseCreate.total_amount", "body.PurchaseCreate.currency"} <= fields


async def test_unknown_fields_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/customers", json={"customer_id": "c-1", "favourite_colour": "red"})
    assert response.status_code == 422
    assert any(e["field"] == "body.favourite_colour" for e in response.json()["errors"])


async def test_malformed_json_is_a_400_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/purchases", content=b'{"order_id": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["detail"] == "the request body is not valid JSON"


async def test_an_oversized_body_is_refused_with_413(client: httpx.AsyncClient) -> None:
    batch = [order("c-big", f"o-{i}") for i in range(1000)]
    response = await client.post("/purchases", json=batch)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


async def test_an_unknown_path_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


async def test_a_retried_post_with_the_same_idempotency_key_gets_the_first_answer(client: httpx.AsyncClient) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = await client.post("/customers", json={"customer_id": "c-idem"}, headers=key)
    second = await client.post("/customers", json={"customer_id": "c-idem"}, headers=key)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    without_key = await client.post("/customers", json={"customer_id": "c-idem"})
    assert without_key.status_code == 409


async def test_an_idempotency_key_reused_for_another_request_is_refused(client: httpx.AsyncClient) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    await client.post("/customers", json={"customer_id": "c-a"}, headers=key)
    response = await client.post("/customers", json={"customer_id": "c-b"}, headers=key)
    assert response.status_code == 422
    assert (await client.get("/customers/c-b")).status_code == 404


async def test_pages_walk_the_whole_list_once_in_a_stable_order(client: httpx.AsyncClient) -> None:
    created = sorted(f"page-{i:02d}" for i in range(25))
    for customer_id in created:
        assert (await client.post("/customers", json={"customer_id": customer_id})).status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/customers", params=params)).json()
        seen += [c["customer_id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == created


async def test_a_malformed_cursor_is_a_400_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/customers", params={"cursor": "%%%not-base64"})
    assert response.status_code == 400


async def test_operational_endpoints_are_open(client: httpx.AsyncClient) -> None:
    no_key = {"Authorization": ""}
    assert (await client.get("/healthz", headers=no_key)).json() == {"status": "ok"}
    ready = await client.get("/readyz", headers=no_key)
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}
    metrics = await client.get("/metrics", headers=no_key)
    assert "cvp_http_requests_total" in metrics.text and "cvp_outbox_pending" in metrics.text
    assert (await client.get("/openapi.json", headers=no_key)).status_code == 200
    assert (await client.get("/docs", headers=no_key)).status_code == 200


async def test_the_correlation_id_of_a_request_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Correlation-ID": "req-123"})
    assert response.headers["x-correlation-id"] == "req-123"
    generated = await client.get("/healthz")
    assert len(generated.headers["x-correlation-id"]) == 32


async def test_readiness_fails_with_503_while_the_broker_is_unreachable(database_url: str) -> None:
    settings = settings_for(ProfileSettings, database_url=database_url, broker="127.0.0.1:1")
    async with running_app(create_app, settings) as (_, http):
        response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "unreachable"}


async def test_requests_get_503_while_the_database_is_unreachable(broker: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(ProfileSettings, database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none",
                             broker=broker, migrate_on_start=False)
    async with running_app(create_app, settings) as (_, http):
        response = await http.get("/customers/c-1")
        ready = await http.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == "unreachable"


async def test_a_key_over_its_rate_limit_gets_429_with_retry_after(database_url: str, broker: str) -> None:
    settings = settings_for(ProfileSettings, database_url=database_url, broker=broker,
                            rate_limit_per_second=0.5, rate_limit_burst=2)
    async with running_app(create_app, settings) as (_, http):
        statuses = [(await http.get("/customers")).status_code for _ in range(3)]
        limited = await http.get("/customers")
        other_key = await http.get("/customers", headers={"Authorization": f"Bearer {READER_KEY}"})
    assert statuses == [200, 200, 429]
    assert limited.headers["retry-after"] == "2" and limited.headers["content-type"] == PROBLEM
    assert other_key.status_code == 200
