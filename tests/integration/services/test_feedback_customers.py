"""Customers merged and erased through Kafka: what feedback holds of the merged-away customer becomes the
surviving customer's, once, and an erased customer leaves nothing behind."""
from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from services.feedback.app import create_app
from services.feedback.handlers_customers import merge_customers
from services.feedback.models import CUSTOMER_TABLES
from services.feedback.settings import FeedbackSettings
from shared.db import utcnow
from shared.events.catalogue import (
    CustomerErasedV1,
    CustomerMergedV1,
    PurchaseRecordedV1,
    TierChangedV1,
)
from shared.events.catalogue_scoring import RfmV1
from tests.support.apps import running_app, settings_for
from tests.support.kafka import eventually, publish_events
from tools.scratch_databases import fresh_database

FIRST_PURCHASE_SURVEY = "merge-first-purchase"
#: Scheduled first-purchase surveys stay pending (due six weeks after a purchase of these days) so the
#: test can watch them move.
SETTINGS = {"first_purchase_survey_id": FIRST_PURCHASE_SURVEY, "first_purchase_delay_hours": 1000,
            "survey_cooldown_days": 30, "scheduler_interval_seconds": 0.3}
SURVEY = {"questions": [{"id": "nps", "type": "nps", "text": {"en": "Recommend us?"}},
                        {"id": "sat", "type": "csat", "required": False, "text": {"en": "Satisfied?"}},
                        {"id": "why", "type": "text", "required": False, "text": {"en": "Why?"}}]}


@pytest.fixture(scope="module")
async def feedback(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with fresh_database(os.environ.get("TEST_DATABASE_URL"), tmp_path_factory.mktemp("feedback")) as url:
        settings = settings_for(FeedbackSettings, database_url=url, broker=broker, **SETTINGS)
        async with running_app(create_app, settings) as (app, http):
            created = await http.post("/surveys", json={"survey_id": FIRST_PURCHASE_SURVEY, "name": "first purchase",
                                                        "definition": SURVEY})
            assert created.status_code == 201, created.text
            yield app, http


def new_id(prefix: str = "c") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def purchase(customer_id: str, days_ago: int) -> PurchaseRecordedV1:
    return PurchaseRecordedV1(order_id=new_id("o"), customer_id=customer_id, total_amount=Decimal("20.00"),
                              currency="EUR", occurred_at=utcnow().replace(microsecond=0) - timedelta(days=days_ago))


def high_value(customer_id: str) -> TierChangedV1:
    return TierChangedV1(customer_id=customer_id, tier="high-value", rfm=RfmV1(r=5, f=5, m=5))


async def rows_of(app: FastAPI, customer_id: str) -> dict[str, int]:
    """How many rows of each customer table name the customer."""
    async with app.state.engine.connect() as connection:
        return {model.__tablename__: (await connection.execute(  # type: ignore[attr-defined]
            text(f"SELECT count(*) FROM {model.__tablename__} WHERE customer_id = :c"), {"c": customer_id})).scalar_one()
            for model in CUSTOMER_TABLES}


async def answer(http: httpx.AsyncClient, customer_id: str, answers: dict[str, object]) -> str:
    invited = await http.post("/invitations", json={"survey_id": FIRST_PURCHASE_SURVEY, "customer_ids": [customer_id]})
    assert invited.status_code == 201, invited.text
    token = invited.json()["invited"][0]["url"].rsplit("/s/", 1)[1]
    answered = await http.post(f"/s/{token}", headers={"Authorization": ""}, json={"answers": answers})
    assert answered.status_code == 201, answered.text
    return answered.json()["response_id"]  # type: ignore[no-any-return]


async def test_a_merged_customers_feedback_cases_and_cooldown_move_to_the_surviving_customer(feedback, broker: str) -> None:  # type: ignore[no-untyped-def]
    app, http = feedback
    merged, surviving = new_id(), new_id()
    await publish_events(broker, [high_value(merged)], source="/services/scoring")
    await publish_events(broker, [purchase(merged, 9), purchase(surviving, 2)], source="shop")

    async def both_have_purchased() -> bool:
        standings = [await http.get(f"/customers/{c}/standing") for c in (merged, surviving)]
        return all(s.status_code == 200 and s.json()["first_purchase_at"] for s in standings) and \
            standings[0].json()["tier"] == "high-value"
    await eventually(both_have_purchased)
    first_purchase = (await http.get(f"/customers/{merged}/standing")).json()["first_purchase_at"]
    response_id = await answer(http, merged, {"nps": 2, "sat": 1, "why": "The parcel arrived broken"})
    before = await rows_of(app, merged)
    assert before["responses"] == before["invitations"] == before["complaints"] == 1  # a high-value detractor's case
    assert before["response_scores"] == 2 and before["response_themes"] >= 1 and before["scheduled_invitations"] == 1

    await publish_events(broker, [CustomerMergedV1(surviving_customer_id=surviving, merged_customer_id=merged)],
                         source="/services/profile")

    async def moved() -> bool:
        return sum((await rows_of(app, merged)).values()) == 0
    await eventually(moved)
    after = await rows_of(app, surviving)
    assert {table: after[table] for table in before if table not in ("customer_standing",)} == \
        {table: count for table, count in before.items() if table != "customer_standing"}
    assert after["customer_standing"] == 1
    listed = (await http.get("/responses", params={"customer_id": surviving})).json()["items"]
    assert [r["response_id"] for r in listed] == [response_id]
    cases = (await http.get("/complaints", params={"customer_id": surviving})).json()["items"]
    assert [c["response_id"] for c in cases] == [response_id]
    standing = (await http.get(f"/customers/{surviving}/standing")).json()
    assert (standing["tier"], standing["first_purchase_at"]) == ("high-value", first_purchase)  # the earlier one
    again = await http.post("/invitations", json={"survey_id": FIRST_PURCHASE_SURVEY, "customer_ids": [surviving]})
    assert again.json()["skipped"] == [{"customer_id": surviving, "reason": "cooldown"}]  # the merged invitation counts

    async with app.state.unit_of_work() as uow:  # the same merge once more changes nothing
        await merge_customers(uow, merged, surviving)
        await uow.commit()
    assert await rows_of(app, surviving) == after
    assert sum((await rows_of(app, merged)).values()) == 0


async def test_scores_of_a_merged_customer_still_count_once(feedback, broker: str) -> None:  # type: ignore[no-untyped-def]
    app, http = feedback
    merged, surviving = new_id(), new_id()
    await answer(http, merged, {"nps": 10, "sat": 5})
    await answer(http, surviving, {"nps": 0, "sat": 2})
    await publish_events(broker, [CustomerMergedV1(surviving_customer_id=surviving, merged_customer_id=merged)],
                         source="/services/profile")

    async def moved() -> bool:
        return sum((await rows_of(app, merged)).values()) == 0
    await eventually(moved)
    assert (await rows_of(app, surviving))["response_scores"] == 4
    csat = (await http.get("/analytics/csat", params={"survey_id": FIRST_PURCHASE_SURVEY})).json()["overall"]
    nps = (await http.get("/analytics/nps", params={"survey_id": FIRST_PURCHASE_SURVEY})).json()["overall"]
    assert csat["responses"] == nps["responses"]  # every response answered both, merged or not


async def test_an_erased_customer_leaves_no_row_in_any_customer_table(feedback, broker: str) -> None:  # type: ignore[no-untyped-def]
    app, http = feedback
    customer_id = new_id()
    await publish_events(broker, [high_value(customer_id)], source="/services/scoring")
    await publish_events(broker, [purchase(customer_id, 3)], source="shop")

    async def purchased() -> bool:
        standing = await http.get(f"/customers/{customer_id}/standing")
        return standing.status_code == 200 and standing.json()["tier"] == "high-value" and \
            standing.json()["first_purchase_at"] is not None
    await eventually(purchased)
    await answer(http, customer_id, {"nps": 1, "sat": 1, "why": "Rude staff and a broken item"})
    case_id = (await http.get("/complaints", params={"customer_id": customer_id})).json()["items"][0]["case_id"]
    assert (await http.post(f"/complaints/{case_id}/notes", json={"text": "called back", "author": "agent"})).status_code == 201
    held = await rows_of(app, customer_id)
    assert all(held[table] >= 1 for table in held if table not in ("follow_ups",)), held

    await publish_events(broker, [CustomerErasedV1(customer_id=customer_id)], source="/services/profile")

    async def forgotten() -> bool:
        return sum((await rows_of(app, customer_id)).values()) == 0
    await eventually(forgotten)
