"""Journeys through HTTP and Kafka: a first purchase brings a thank-you and, after a wait, a survey; a purchase
ends a win-back; a detractor's feedback or a complaint starts service recovery; points and coupons are
granted once; journey state lives in the database, survives a restart and is safe with several replicas."""
from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import select, update

from services.engagement.app import DEFINITION, create_app
from services.engagement.journeys import advance_due_journeys, start_calendar_journeys
from services.engagement.models import Journey, JourneyInstance
from services.engagement.schemas_journeys import JourneyWrite
from services.engagement.settings import EngagementSettings
from shared.db import create_engine
from shared.events.catalogue import (
    ComplaintOpenedV1,
    CustomerMergedV1,
    FeedbackReceivedV1,
    LifecycleStageChangedV1,
    PurchaseRecordedV1,
    SegmentMembershipChangedV1,
    TierChangedV1,
)
from shared.migrations import alembic_config, upgrade_to_head
from tests.support.apps import running_app, settings_for
from tests.support.engagement import (
    DAYTIME,
    Stack,
    engagement_stack,
    new_customer,
    publish,
    register,
)
from tests.support.kafka import eventually
from tools.demo_journeys import DEFAULT_JOURNEYS, create_journeys
from tools.scratch_databases import fresh_database

FAST = {"journey_interval_seconds": 0.2, "journey_batch_size": 5}


@pytest.fixture(scope="module")
async def stack(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with engagement_stack(broker, tmp_path_factory.mktemp("engagement"), **FAST) as running:
        yield running


@pytest.fixture(autouse=True)
async def own_journeys(stack: Stack) -> AsyncIterator[list[tuple[str, dict[str, Any]]]]:
    """Each test's journeys are disabled after it, so they start nobody in the next test."""
    created: list[tuple[str, dict[str, Any]]] = []
    yield created
    for journey_id, definition in created:
        await stack.http.put(f"/journeys/{journey_id}", json={**definition, "enabled": False})


async def put_journey(stack: Stack, own_journeys: list[Any], definition: dict[str, Any]) -> str:
    journey_id = f"j-{uuid.uuid4().hex[:8]}"
    response = await stack.http.put(f"/journeys/{journey_id}", json=definition)
    assert response.status_code == 200, response.text
    own_journeys.append((journey_id, definition))
    return journey_id


async def instances(stack: Stack, customer: str, journey_id: str) -> list[dict[str, Any]]:
    response = await stack.http.get("/journey-instances", params={"customer_id": customer, "journey_id": journey_id})
    return response.json()["items"]  # type: ignore[no-any-return]


async def instance_when(stack: Stack, customer: str, journey_id: str, **expected: Any) -> dict[str, Any]:
    """The customer's one instance of the journey, once it shows the expected fields."""
    async def check() -> dict[str, Any] | None:
        found = await instances(stack, customer, journey_id)
        return found[0] if len(found) == 1 and all(found[0][k] == v for k, v in expected.items()) else None
    return await eventually(check, timeout=30)  # type: ignore[return-value]


async def mails(stack: Stack, customer: str, count: int) -> list[Any]:
    async def arrived() -> list[Any] | None:
        received = stack.mailbox.to(f"{customer}@example.com")
        return received if len(received) >= count else None
    return await eventually(arrived, timeout=30)  # type: ignore[return-value]


async def fast_forward(stack: Stack, instance_id: str) -> None:
    """Let the instance's wait be over now, as if its time had come."""
    async with stack.app.state.unit_of_work() as uow:
        await uow.session.execute(update(JourneyInstance).where(JourneyInstance.instance_id == instance_id)
                                  .values(due_at=datetime.now(UTC)))
        await uow.commit()


def purchase(customer: str, order_id: str | None = None) -> PurchaseRecordedV1:
    return PurchaseRecordedV1(order_id=order_id or f"o-{uuid.uuid4().hex[:8]}", customer_id=customer,
                              occurred_at=datetime.now(UTC), total_amount=Decimal("42.00"), currency="EUR")


def at_risk(customer: str) -> LifecycleStageChangedV1:
    return LifecycleStageChangedV1(customer_id=customer, previous_stage="loyal", stage="at-risk")


async def test_a_first_purchase_brings_a_thank_you_and_after_the_wait_a_survey_but_a_second_purchase_does_not(stack: Stack, broker: str, own_journeys: list[Any]) -> None:
    journey_id = await put_journey(stack, own_journeys, {
        "name": "First purchase", "trigger": {"event": "purchase-recorded", "first_purchase": True},
        "steps": [{"id": "thanks", "type": "send", "channel": "email", "priority": "service", "subject": "Thank you",
                   "body": "Thanks for order {{ event.order_id }}, {{ customer.first_name }}!"},
                  {"id": "pause", "type": "wait", "duration": "PT1S"},
                  {"id": "survey", "type": "send", "channel": "email", "priority": "service",
                   "subject": "How was it?", "body": "Tell us about {{ event.order_id }}"}]})
    customer = new_customer()
    await register(stack, broker, customer)
    await publish(broker, [purchase(customer, "o-first")])
    first, second = await mails(stack, customer, 2)
    assert (first["Subject"], first.get_content().strip()) == ("Thank you", "Thanks for order o-first, Ada!")
    assert (second["Subject"], second.get_content().strip()) == ("How was it?", "Tell us about o-first")
    done = await instance_when(stack, customer, journey_id, status="completed")
    assert [step["step"] for step in done["trail"]] == ["thanks", "pause", "survey"]
    await publish(broker, [purchase(customer, "o-second")])
    await eventually(lambda: _points_entries(stack, customer, 2))
    assert len(await instances(stack, customer, journey_id)) == 1
    assert len(stack.mailbox.to(f"{customer}@example.com")) == 2


async def test_a_purchase_ends_a_win_back_journey_before_its_offer(stack: Stack, broker: str, own_journeys: list[Any]) -> None:
    journey_id = await put_journey(stack, own_journeys, {
        "trigger": {"event": "lifecycle-stage-changed", "to": "at-risk"}, "exit_on": [{"event": "purchase-recorded"}],
        "steps": [{"id": "wait", "type": "wait", "duration": "P3D"},
                  {"id": "offer", "type": "grant_coupon", "discount": "15%", "prefix": "WB", "valid_for": "P30D"},
                  {"id": "mail", "type": "send", "channel": "email", "priority": "win_back",
                   "body": "We miss you: {{ coupon_code }}"}]})
    buyer, lapsed = new_customer(), new_customer()
    await asyncio.gather(register(stack, broker, buyer), register(stack, broker, lapsed))
    await publish(broker, [at_risk(buyer), at_risk(lapsed)])
    waiting = await instance_when(stack, buyer, journey_id, step_id="offer")
    due = datetime.fromisoformat(waiting["due_at"])
    assert timedelta(days=3) - timedelta(minutes=1) < due - datetime.now(UTC) <= timedelta(days=3)
    await publish(broker, [purchase(buyer)])
    ended = await instance_when(stack, buyer, journey_id, status="exited")
    assert (ended["exit_reason"], ended["due_at"]) == ("exit_on:purchase-recorded", None)
    lapsed_instance = await instance_when(stack, lapsed, journey_id, step_id="offer")
    for instance in (ended, lapsed_instance):  # three days on
        await fast_forward(stack, instance["instance_id"])
    [mail] = await mails(stack, lapsed, 1)
    done = await instance_when(stack, lapsed, journey_id, status="completed")
    code = done["context"]["coupon_code"]
    assert code.startswith("WB") and mail.get_content().strip() == f"We miss you: {code}"
    assert (await stack.http.get(f"/coupons/batches/{journey_id}")).json()["issued"] == 1
    messages = (await stack.http.get("/messages", params={"customer_id": buyer})).json()["items"]
    assert [m for m in messages if m["journey_id"] == journey_id] == []
    assert (await instances(stack, buyer, journey_id))[0]["status"] == "exited"


async def test_a_merged_customers_journey_carries_on_as_the_survivors_unless_the_survivor_is_in_it(stack: Stack, broker: str, own_journeys: list[Any]) -> None:
    journey_id = await put_journey(stack, own_journeys, {
        "trigger": {"event": "lifecycle-stage-changed", "to": "at-risk"},
        "steps": [{"id": "wait", "type": "wait", "duration": "P3D"},
                  {"id": "mail", "type": "send", "channel": "email", "priority": "win_back", "body": "We miss you"}]})
    surviving, merged, both_in_it = new_customer(), new_customer(), new_customer()
    await asyncio.gather(*(register(stack, broker, c) for c in (surviving, merged, both_in_it)))
    await publish(broker, [at_risk(merged), at_risk(both_in_it)])
    moving = await instance_when(stack, merged, journey_id, step_id="mail")
    other = await instance_when(stack, both_in_it, journey_id, step_id="mail")
    await publish(broker, [CustomerMergedV1(surviving_customer_id=surviving, merged_customer_id=merged)])
    moved = await instance_when(stack, surviving, journey_id, instance_id=moving["instance_id"])
    assert (moved["status"], moved["step_id"], moved["due_at"]) == ("active", "mail", moving["due_at"])
    assert await instances(stack, merged, journey_id) == []
    await publish(broker, [CustomerMergedV1(surviving_customer_id=both_in_it, merged_customer_id=surviving)])

    async def both() -> dict[str, dict[str, Any]] | None:
        found = {i["instance_id"]: i for i in await instances(stack, both_in_it, journey_id)}
        return found if len(found) == 2 else None
    found = await eventually(both, timeout=30)
    assert (found[moving["instance_id"]]["status"], found[moving["instance_id"]]["exit_reason"]) == \
        ("exited", "customer_merged")
    assert found[other["instance_id"]]["status"] == "active"


async def test_a_detractors_feedback_starts_service_recovery_and_a_promoters_does_not(stack: Stack, broker: str, own_journeys: list[Any]) -> None:
    journey_id = await put_journey(stack, own_journeys, {
        "trigger": {"event": "feedback-received", "kind": ["nps"], "score_at_most": 6},
        "steps": [{"id": "apology", "type": "send", "channel": "email", "priority": "service", "subject": "We are sorry",
                   "body": "You gave us {{ event.score }}/10; a manager will call you."}]})
    detractor, promoter = new_customer(), new_customer()
    await asyncio.gather(register(stack, broker, detractor), register(stack, broker, promoter))
    await publish(broker, [FeedbackReceivedV1(response_id=f"r-{detractor}", customer_id=detractor, kind="nps", score=3),
                           FeedbackReceivedV1(response_id=f"r-{promoter}", customer_id=promoter, kind="nps", score=10)])
    [mail] = await mails(stack, detractor, 1)
    assert mail.get_content().strip() == "You gave us 3/10; a manager will call you."
    await instance_when(stack, detractor, journey_id, status="completed")
    assert await instances(stack, promoter, journey_id) == []


async def test_a_serious_complaint_grants_points_once_and_says_so(stack: Stack, broker: str, own_journeys: list[Any]) -> None:
    journey_id = await put_journey(stack, own_journeys, {
        "trigger": {"event": "complaint-opened", "severity": ["high", "critical"]},
        "steps": [{"id": "sorry-points", "type": "grant_points", "points": 200},
                  {"id": "tell", "type": "send", "channel": "email", "priority": "service",
                   "body": "{{ points_granted }} points for the trouble with case {{ event.case_id }}."}]})
    customer = new_customer()
    await register(stack, broker, customer)
    opened = ComplaintOpenedV1(case_id=f"case-{customer}", customer_id=customer, severity="high", category="delivery")
    await publish(broker, [opened, opened])  # the same case reported twice
    [mail] = await mails(stack, customer, 1)
    assert mail.get_content().strip() == f"200 points for the trouble with case case-{customer}."
    loyalty = (await stack.http.get(f"/loyalty/{customer}")).json()
    assert loyalty["balance"] == 200 and [e["reason"] for e in loyalty["recent"]] == ["journey"]
    await instance_when(stack, customer, journey_id, status="completed")


async def test_a_branch_sends_vips_one_message_and_everyone_else_another(stack: Stack, broker: str, own_journeys: list[Any]) -> None:
    journey_id = await put_journey(stack, own_journeys, {
        "trigger": {"event": "tier-changed", "direction": "down"},
        "steps": [{"id": "was-vip", "type": "branch", "if": {"field": "event.previous", "equals": "high-value"},
                   "then": "vip-offer"},
                  {"id": "plain-offer", "type": "send", "channel": "email", "priority": "win_back", "body": "10% off"},
                  {"id": "stop", "type": "branch", "if": {"field": "tier", "exists": True}, "then": "end"},
                  {"id": "vip-offer", "type": "send", "channel": "email", "priority": "win_back", "body": "30% off"}]})
    former_vip, former_potential = new_customer(), new_customer()
    await asyncio.gather(register(stack, broker, former_vip, tier="high-value"),
                         register(stack, broker, former_potential, tier="potential"))
    await publish(broker, [
        TierChangedV1(customer_id=former_vip, previous_tier="high-value", tier="ordinary", rfm={"r": 2, "f": 2, "m": 2}),  # type: ignore[arg-type]
        TierChangedV1(customer_id=former_potential, previous_tier="potential", tier="ordinary", rfm={"r": 2, "f": 2, "m": 2}),  # type: ignore[arg-type]
    ])
    assert (await mails(stack, former_vip, 1))[0].get_content().strip() == "30% off"
    assert (await mails(stack, former_potential, 1))[0].get_content().strip() == "10% off"
    taken = await instance_when(stack, former_potential, journey_id, status="completed")
    assert [step["step"] for step in taken["trail"]] == ["was-vip", "plain-offer", "stop"]


async def test_an_invalid_journey_is_refused_with_the_step_and_field_named(stack: Stack) -> None:
    send = {"id": "mail", "type": "send", "body": "Hi"}
    backwards = await stack.http.put("/journeys/bad", json={"trigger": {"event": "birthday"}, "steps": [
        send, {"id": "again", "type": "branch", "if": {"field": "tier", "exists": True}, "then": "mail"}, {**send, "id": "x"}]})
    no_body = await stack.http.put("/journeys/bad", json={"trigger": {"event": "birthday"}, "steps": [{"id": "m", "type": "send"}]})
    no_template = await stack.http.put("/journeys/bad", json={"trigger": {"event": "birthday"}, "steps": [
        {"id": "m", "type": "send", "template_id": "no-such-template"}]})
    broken = await stack.http.put("/journeys/bad", json={"trigger": {"event": "birthday"}, "steps": [
        {"id": "m", "type": "send", "body": "{% if %}"}]})
    for response in (backwards, no_body, no_template, broken):
        assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert backwards.json()["errors"] == [{"field": "body.steps.1.then",
                                           "message": "step 'again' goes back to 'mail'; branches only go forward"}]
    assert no_body.json()["errors"][0]["field"] == "body.steps.0.send"
    assert "give exactly one of template_id and body" in no_body.json()["detail"]
    assert no_template.json()["errors"][0]["field"] == "body.steps.0.template_id"
    assert broken.json()["errors"][0]["field"] == "body.steps.0.body"
    assert (await stack.http.get("/journeys/bad")).status_code == 404


async def test_two_replicas_advance_a_holiday_journey_for_a_segment_each_step_once(stack: Stack, broker: str, own_journeys: list[Any]) -> None:
    segment, members = f"seg-{uuid.uuid4().hex[:8]}", [new_customer() for _ in range(12)]
    await asyncio.gather(*(register(stack, broker, c) for c in members))
    await publish(broker, [SegmentMembershipChangedV1(segment_id=segment, customer_id=c, change="entered",
                                                      at=datetime.now(UTC)) for c in members])

    async def all_in() -> bool:
        return all([segment in (await stack.http.get(f"/audience/{c}")).json()["segments"] for c in members])
    await eventually(all_in)
    today = datetime.now(ZoneInfo(DAYTIME)).strftime("%m-%d")
    journey_id = await put_journey(stack, own_journeys, {
        "trigger": {"event": "holiday", "calendar": [{"date": today, "name": "Founders' Day"}], "segment_id": segment},
        "steps": [{"id": "gift", "type": "grant_points", "points": 10},
                  {"id": "greet", "type": "send", "channel": "email", "priority": "service",
                   "body": "Happy {{ event.name }}!"}]})
    replica_settings = stack.settings.model_copy(update={"consumer_enabled": False})
    async with running_app(create_app, replica_settings) as (replica, _):
        for _ in range(2):  # the hourly job may run again the same day
            async with stack.app.state.unit_of_work() as uow:
                await start_calendar_journeys(uow, datetime.now(UTC), "UTC")
                await uow.commit()

        async def advance(app: Any) -> None:
            async with app.state.unit_of_work() as uow:
                await advance_due_journeys(uow, datetime.now(UTC), limit=3)
                await uow.commit()
        await asyncio.gather(*(advance(app) for app in (stack.app, replica, stack.app, replica)))
        for customer in members:
            done = await instance_when(stack, customer, journey_id, status="completed")
            assert [step["step"] for step in done["trail"]] == ["gift", "greet"]
            [mail] = await mails(stack, customer, 1)  # the replica delivers its share before it stops
            assert mail.get_content().strip() == "Happy Founders' Day!"
            assert (await stack.http.get(f"/loyalty/{customer}")).json()["balance"] == 10
    started = (await stack.http.get("/journey-instances", params={"journey_id": journey_id})).json()["items"]
    assert sorted(i["customer_id"] for i in started) == sorted(members)  # the segment's members only, once each


async def test_a_customer_waiting_in_a_journey_carries_on_after_a_restart(broker: str, tmp_path: Any) -> None:
    async with fresh_database(os.environ.get("TEST_DATABASE_URL"), tmp_path) as url:
        settings = settings_for(EngagementSettings, database_url=url, broker=broker, **FAST)
        customer = new_customer()
        async with running_app(create_app, settings) as (_, http):
            response = await http.put("/journeys/welcome-points", json={
                "trigger": {"event": "tier-changed", "to": "high-value"},
                "steps": [{"id": "settle", "type": "wait", "duration": "PT3S"},
                          {"id": "welcome-gift", "type": "grant_points", "points": 500}]})
            assert response.status_code == 200, response.text
            await publish(broker, [TierChangedV1(customer_id=customer, previous_tier="potential", tier="high-value",
                                                 rfm={"r": 5, "f": 5, "m": 5})])  # type: ignore[arg-type]

            async def waiting() -> bool:
                items = (await http.get("/journey-instances", params={"customer_id": customer})).json()["items"]
                return bool(items) and items[0]["step_id"] == "welcome-gift"
            await eventually(waiting)
        async with running_app(create_app, settings) as (_app, http):
            async def credited() -> bool:
                return bool((await http.get(f"/loyalty/{customer}")).json()["balance"] == 500)
            await eventually(credited)
            [done] = (await http.get("/journey-instances", params={"customer_id": customer})).json()["items"]
            assert (done["status"], [s["step"] for s in done["trail"]]) == ("completed", ["settle", "welcome-gift"])


async def _points_entries(stack: Stack, customer: str, count: int) -> bool:
    return len((await stack.http.get(f"/loyalty/{customer}")).json()["recent"]) >= count


async def test_the_demos_default_journeys_are_accepted_and_listed(stack: Stack, own_journeys: list[Any]) -> None:
    created = await create_journeys(stack.http, "")
    own_journeys.extend((journey_id, DEFAULT_JOURNEYS[journey_id]) for journey_id in created)
    listed = {j["journey_id"]: j for j in (await stack.http.get("/journeys")).json()}
    assert set(DEFAULT_JOURNEYS) <= set(listed)
    assert listed["win-back"]["exit_on"] == [{"event": "purchase-recorded", "first_purchase": False}]
    assert [s["id"] for s in listed["first-purchase"]["steps"]] == ["thank-you", "a-week-later", "survey"]


async def test_a_journey_stored_before_steps_existed_becomes_a_wait_and_a_send(database_url: str) -> None:
    definition = DEFINITION.migrations
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(definition, sync), "0003"))
            await connection.execute(Journey.__table__.insert().values(
                journey_id="old-vip", trigger_event="tier-changed", enabled=True, updated_at=datetime.now(UTC),
                definition={"journey_id": "old-vip", "trigger": {"event": "tier-changed", "to": "high-value"},
                            "channel": "email", "priority": "service", "body": "Welcome", "delay_hours": 2,
                            "enabled": True}))
        await upgrade_to_head(engine, definition)
        async with engine.connect() as connection:
            stored = (await connection.execute(select(Journey.definition))).scalar_one()
    finally:
        await engine.dispose()
    assert [(s["id"], s["type"]) for s in stored["steps"]] == [("delay", "wait"), ("send", "send")]
    rewritten = JourneyWrite.model_validate({k: v for k, v in stored.items() if k != "journey_id"})
    assert rewritten.model_dump(mode="json", by_alias=True)["steps"][0]["duration"] == "PT2H"
    assert "body" not in stored and stored["steps"][1]["body"] == "Welcome"
