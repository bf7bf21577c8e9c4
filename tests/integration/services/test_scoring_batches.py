"""Scoring applies purchases in batches and rescoring writes only what changed, with the same results as
one event at a time and as a rewrite of everything."""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, AsyncIterator

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from services.scoring import repository_bulk
from services.scoring.consumers import ingest_config
from services.scoring.handlers import OrderToCount, count_purchases
from services.scoring.handlers_customers import register_customers
from services.scoring.models import CustomerAggregate, CustomerScore, ScoreChange
from services.scoring.repository import load_facts
from services.scoring.repository_scores import record_changes
from services.scoring.rescoring import rescore_everybody
from shared.db import utcnow
from tests.support.scoring import new_customer, scoring_service

NOW = datetime.now(timezone.utc).replace(microsecond=0)
# Orders are placed hours apart from yesterday noon, so the two on one day stay on it at any time of day.
ORDERS_FROM = (NOW - timedelta(days=1)).replace(hour=12, minute=0, second=0)


@pytest.fixture(scope="module")
async def app(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    async with scoring_service(broker, tmp_path_factory.mktemp("scoring-batches"), consumer_enabled=False,
                               currency_rates={"EUR": Decimal("1.10")}) as (running, _):
        yield running


def orders_of(customer_id: str) -> list[OrderToCount]:
    """Six orders on four days (two days with two orders), one in euros, in the order they were placed."""
    days_ago = [40, 40, 25, 10, 10, 3]
    return [OrderToCount(source="shop", order_id=f"{customer_id}-{n}", customer_id=customer_id,
                         amount=Decimal(f"{10 + n}.50"), currency="EUR" if n == 2 else "USD",
                         occurred_at=ORDERS_FROM - timedelta(days=days, hours=n), ref=f"e-{n}")
            for n, days in enumerate(days_ago)]


async def count(app: FastAPI, orders: list[OrderToCount]) -> int:
    async with app.state.unit_of_work() as uow:
        new = await count_purchases(uow, orders, ingest_config(app.state.settings), utcnow())
        await uow.commit()
    return new


async def aggregate(app: FastAPI, customer_id: str) -> dict[str, Any]:
    async with app.state.engine.connect() as connection:
        row = (await connection.execute(select(CustomerAggregate).where(
            CustomerAggregate.customer_id == customer_id))).one()
    return {key: value for key, value in row._asdict().items() if key not in {"customer_id", "updated_at"}}


async def scores(app: FastAPI, customer_id: str) -> dict[str, Any]:
    async with app.state.engine.connect() as connection:
        row = (await connection.execute(select(CustomerScore).where(CustomerScore.customer_id == customer_id))).one()
    return {key: value for key, value in row._asdict().items() if key not in {"customer_id", "scored_at"}}


async def test_a_shuffled_batch_with_duplicates_gives_the_aggregates_of_one_order_at_a_time(app: FastAPI) -> None:
    one_by_one, batched = new_customer(), new_customer()
    for order in orders_of(one_by_one):
        assert await count(app, [order]) == 1
    shuffled = [replace(order, customer_id=batched, order_id=order.order_id.replace(one_by_one, batched))
                for order in orders_of(one_by_one)]
    shuffled = shuffled + shuffled[:3]
    random.Random(5).shuffle(shuffled)
    assert await count(app, shuffled) == 6
    assert await count(app, shuffled[:4]) == 0  # redelivered: nothing new
    expected = await aggregate(app, one_by_one)
    assert (expected["purchase_count"], expected["purchase_days"]) == (6, 4)
    assert expected["total_spend"] == Decimal("10.50") + Decimal("11.50") + Decimal("12.50") * Decimal("1.10") \
        + Decimal("13.50") + Decimal("14.50") + Decimal("15.50")
    assert await aggregate(app, batched) == expected
    # Scores are relative to the population's cut points, which the service's own sweep may move between the
    # two customers' orders: after one more sweep both stand against the same ones.
    async with app.state.unit_of_work() as uow:
        await rescore_everybody(uow, app.state.scoring_config, utcnow())
        await uow.commit()
    path_free = {"tier": None, "fingerprint": None}  # a tier depends on the tiers before it (hysteresis)
    assert await scores(app, batched) | path_free == await scores(app, one_by_one) | path_free


async def test_a_late_order_from_before_the_first_moves_the_first_purchase_back(app: FastAPI) -> None:
    customer_id = new_customer()
    orders = orders_of(customer_id)
    await count(app, orders[2:])
    await count(app, orders[:2])
    counted = await aggregate(app, customer_id)
    assert counted["first_purchase_at"] == orders[1].occurred_at  # 40 days and an hour before yesterday noon
    assert (counted["purchase_count"], counted["purchase_days"]) == (6, 4)


async def test_a_second_rescore_on_the_same_day_writes_nothing(app: FastAPI) -> None:
    for _ in range(3):
        await count(app, orders_of(new_customer()))
    now = utcnow()
    async with app.state.unit_of_work() as uow:
        await rescore_everybody(uow, app.state.scoring_config, now)
        await uow.commit()
    async with app.state.unit_of_work() as uow:
        again = await rescore_everybody(uow, app.state.scoring_config, now + timedelta(minutes=5))
        await uow.commit()
    assert again.customers >= 3 and again.scores_written == 0
    assert (again.tier_changes, again.stage_changes, again.risk_changes) == (0, 0, 0)


async def test_a_rescore_rewrites_only_the_customers_whose_stored_scores_differ(app: FastAPI) -> None:
    customer_id = new_customer()
    await count(app, orders_of(customer_id))
    now = utcnow()
    async with app.state.unit_of_work() as uow:
        await rescore_everybody(uow, app.state.scoring_config, now)
        await uow.commit()
    before = await scores(app, customer_id)
    async with app.state.engine.begin() as connection:
        await connection.execute(update(CustomerScore).where(CustomerScore.customer_id == customer_id)
                                 .values(fingerprint=None, clv=None))
    async with app.state.unit_of_work() as uow:
        summary = await rescore_everybody(uow, app.state.scoring_config, now + timedelta(minutes=5))
        await uow.commit()
    assert summary.scores_written == 1
    assert await scores(app, customer_id) == before


async def test_a_new_day_rewrites_the_buyers_scores_and_records_only_real_changes(app: FastAPI) -> None:
    customer_id = new_customer()
    await count(app, orders_of(customer_id))
    now = utcnow()
    async with app.state.unit_of_work() as uow:
        await rescore_everybody(uow, app.state.scoring_config, now)
        await uow.commit()
    async with app.state.engine.connect() as connection:
        history = (await connection.execute(select(ScoreChange.kind).where(
            ScoreChange.customer_id == customer_id))).scalars().all()
    recency = (await scores(app, customer_id))["recency_days"]
    async with app.state.unit_of_work() as uow:
        tomorrow = await rescore_everybody(uow, app.state.scoring_config, now + timedelta(days=1))
        await uow.commit()
    assert tomorrow.scores_written >= tomorrow.scored_buyers  # recency grew by a day for every buyer
    assert (await scores(app, customer_id))["recency_days"] == recency + 1
    async with app.state.engine.connect() as connection:
        after = (await connection.execute(select(ScoreChange.kind).where(
            ScoreChange.customer_id == customer_id))).scalars().all()
    assert sorted(after) == sorted(history)  # a day older is no new tier, stage or risk


async def test_scores_written_for_many_customers_equal_those_written_for_a_few(
        app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    buyer, prospect = new_customer(), new_customer()
    await count(app, orders_of(buyer))
    async with app.state.unit_of_work() as uow:
        await register_customers(uow, {prospect: NOW}, ingest_config(app.state.settings), utcnow())
        await uow.commit()
    now = utcnow()
    monkeypatch.setattr(repository_bulk, "ARRAYS_UP_TO", 1_000_000)  # PostgreSQL: a few go as arrays
    async with app.state.unit_of_work() as uow:
        await rescore_everybody(uow, app.state.scoring_config, now)
        await uow.commit()
    few = {customer_id: await scores(app, customer_id) for customer_id in (buyer, prospect)}
    assert few[prospect]["r"] is None and few[prospect]["clv"] is None and few[buyer]["r"] is not None
    async with app.state.engine.begin() as connection:
        await connection.execute(update(CustomerScore).values(fingerprint=None))
    monkeypatch.setattr(repository_bulk, "ARRAYS_UP_TO", 0)  # PostgreSQL: many go through COPY
    async with app.state.unit_of_work() as uow:
        summary = await rescore_everybody(uow, app.state.scoring_config, now)
        await uow.commit()
    assert summary.scores_written == summary.customers
    assert {customer_id: await scores(app, customer_id) for customer_id in (buyer, prospect)} == few


async def test_history_written_for_many_changes_equals_that_written_for_a_few(
        app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    customer_id = new_customer()
    change = {"customer_id": customer_id, "kind": "tier", "previous": "ordinary", "current": "high-value",
              "reasons": ["CLV 1,234.00 is in the top 10%"], "model_version": "bgnbd-1", "at": utcnow()}
    for threshold in (1_000_000, 0):  # PostgreSQL: a few go as arrays, many through COPY
        monkeypatch.setattr(repository_bulk, "ARRAYS_UP_TO", threshold)
        async with app.state.unit_of_work() as uow:
            await record_changes(uow.session, [change])
            await uow.commit()
    async with app.state.engine.connect() as connection:
        rows = (await connection.execute(select(
            ScoreChange.kind, ScoreChange.previous, ScoreChange.current, ScoreChange.reasons,
            ScoreChange.model_version, ScoreChange.at).where(ScoreChange.customer_id == customer_id))).all()
    assert len(rows) == 2 and rows[0] == rows[1]
    assert rows[0].reasons == change["reasons"] and rows[0].current == "high-value"


async def test_everybody_is_read_once_with_the_same_facts_as_when_read_by_name(app: FastAPI) -> None:
    for _ in range(5):
        await count(app, orders_of(new_customer()))
    async with app.state.unit_of_work() as uow:
        everybody = await load_facts(uow.session)
        by_name = await load_facts(uow.session, everybody.customer_id.tolist())
    assert len(set(everybody.customer_id.tolist())) == len(everybody.customer_id) >= 5
    order, named_order = everybody.customer_id.argsort(), by_name.customer_id.argsort()
    for field in ("customer_id", "purchase_days", "total_spend", "previous_stage", "stored_fingerprint"):
        assert getattr(everybody, field)[order].tolist() == getattr(by_name, field)[named_order].tolist()
