"""Several engagement replicas on one database: caps hold under concurrent senders, and a message is
delivered once even when the replica that leased it dies."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import AsyncIterator

import pytest

from services.engagement.app import create_app
from services.engagement.channels import build_channels, close_channels
from services.engagement.dispatch import Dispatcher
from tests.support.engagement import Stack, engagement_stack, new_customer, register
from tests.support.apps import running_app

LATER = datetime.now(timezone.utc) + timedelta(hours=1)
#: Longer than the test dispatchers' clocks run ahead, so they never take over a lease the services' own
#: dispatchers hold on another test's message (that lease has not run out, whatever the clock says).
LEASE_SECONDS = 7200


@pytest.fixture(scope="module")
async def stack(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with engagement_stack(broker, tmp_path_factory.mktemp("engagement"), dispatch_batch_size=1,
                                dispatch_lease_seconds=LEASE_SECONDS) as running:
        yield running


@pytest.fixture(scope="module")
async def replica(stack: Stack) -> AsyncIterator[Stack]:
    """A second engagement process on the same database (HTTP and dispatcher, no consumer)."""
    settings = stack.settings.model_copy(update={"consumer_enabled": False})
    async with running_app(create_app, settings) as (app, http):
        yield Stack(app, http, stack.providers, stack.mailbox, settings)


def dispatcher(replica: Stack, clock_offset: timedelta = timedelta(0)) -> Dispatcher:
    """A dispatcher of that replica whose clock runs ahead, so it alone sees the messages queued for later."""
    state = replica.app.state
    return Dispatcher(state.unit_of_work, replica.settings, state.profile, build_channels(replica.settings),
                      clock=lambda: datetime.now(timezone.utc) + timedelta(hours=1, seconds=1) + clock_offset)


async def queue_for_later(stack: Stack, customer: str, count: int, **body) -> list[str]:  # type: ignore[no-untyped-def]
    ids = []
    for n in range(count):
        response = await stack.http.post("/messages", json={
            "customer_id": customer, "channel": "sms" if n % 2 else "email", "priority": "promotion",
            "body": f"Offer {n}", "send_at": LATER.isoformat(), **body})
        assert response.status_code == 201, response.text
        ids.append(response.json()["message_id"])
    return ids


async def test_two_replicas_sending_to_one_customer_at_once_never_exceed_the_cap(stack: Stack, replica: Stack,
                                                                                 broker: str) -> None:
    customer = new_customer()
    await register(stack, broker, customer, tier="ordinary")  # one marketing contact a day
    ids = await queue_for_later(stack, customer, 6)
    first, second = dispatcher(stack), dispatcher(replica)
    while True:
        claimed = await asyncio.gather(first.claim(), second.claim())
        if not any(claimed):
            break
        await asyncio.gather(*(d.process(m) for d, ms in zip((first, second), claimed) for m in ms))
    statuses = [(await stack.http.get(f"/messages/{m}")).json() for m in ids]
    assert sorted(s["status"] for s in statuses) == ["sent"] + ["suppressed"] * 5
    assert {s["reason"] for s in statuses if s["status"] == "suppressed"} <= {
        "frequency_cap:all_channels:day", "frequency_cap:channel:day"}
    assert len((await stack.http.get(f"/audience/{customer}")).json()["recent_contacts"]) == 1


async def test_a_message_leased_by_a_replica_that_died_is_delivered_once_by_another(stack: Stack, replica: Stack,
                                                                                   broker: str) -> None:
    customer = new_customer()
    await register(stack, broker, customer)
    [message_id] = await queue_for_later(stack, customer, 1, channel="sms", priority="transactional")
    dead = dispatcher(replica)
    assert await dead.claim() == [message_id]  # ... and the replica dies before doing anything with it
    survivor = dispatcher(stack, clock_offset=timedelta(seconds=LEASE_SECONDS + 1))
    assert await survivor.claim() == [message_id]  # once the lease ran out
    await survivor.process(message_id)
    await dead.process(message_id)  # the dead replica coming back finds it no longer holds the lease
    assert await survivor.claim() == []
    message = (await stack.http.get(f"/messages/{message_id}")).json()
    assert (message["status"], message["attempts"]) == ("sent", 2)
    assert stack.providers.attempts[message_id] == 1


async def test_a_replica_dying_between_delivery_and_record_repeats_it_under_the_same_idempotency_key(
        stack: Stack, replica: Stack, broker: str) -> None:
    customer = new_customer()
    await register(stack, broker, customer)
    [message_id] = await queue_for_later(stack, customer, 1, channel="sms", priority="transactional")
    dead = dispatcher(replica)
    await dead.claim()
    [delivery] = await dead._decide([message_id])  # noqa: SLF001 - the steps of process(), to stop between them
    contacts = await replica.app.state.profile.contacts([customer])
    await dead._deliver(delivery, contacts[customer])  # noqa: SLF001 - handed over; the replica dies before recording it
    survivor = dispatcher(stack, clock_offset=timedelta(seconds=LEASE_SECONDS + 1))
    await survivor.claim()
    await survivor.process(message_id)
    assert (await stack.http.get(f"/messages/{message_id}")).json()["status"] == "sent"
    assert stack.providers.attempts[message_id] == 2  # handed over twice, with one Idempotency-Key
    assert len(stack.providers.received[message_id]) == 1  # so the provider delivered it once


async def test_a_batch_holding_several_promotions_for_one_customer_sends_only_what_the_cap_allows(
        stack: Stack, broker: str) -> None:
    customer, other = new_customer(), new_customer()
    await register(stack, broker, customer, tier="ordinary")  # one marketing contact a day
    await register(stack, broker, other, tier="ordinary")
    ids = await queue_for_later(stack, customer, 4) + await queue_for_later(stack, other, 1)
    state = stack.app.state
    batches = Dispatcher(state.unit_of_work, stack.settings.model_copy(update={"dispatch_batch_size": 10}),
                         state.profile, build_channels(stack.settings),
                         clock=lambda: datetime.now(timezone.utc) + timedelta(hours=1, seconds=1))
    claimed = await batches.claim()
    assert set(ids) <= set(claimed)
    await batches.process_batch(claimed)
    statuses = [(await stack.http.get(f"/messages/{m}")).json()["status"] for m in ids]
    assert sorted(statuses[:4]) == ["sent", "suppressed", "suppressed", "suppressed"]
    assert statuses[4] == "sent"


async def test_one_dispatcher_with_two_batches_in_flight_sends_each_message_once_within_the_caps(
        stack: Stack, broker: str) -> None:
    capped, others = new_customer(), [new_customer() for _ in range(5)]
    for customer in [capped, *others]:
        await register(stack, broker, customer, tier="ordinary")  # one marketing contact a day
    ids = await queue_for_later(stack, capped, 4, channel="sms")
    for customer in others:
        ids += await queue_for_later(stack, customer, 1, channel="sms")
    state, channels = stack.app.state, build_channels(stack.settings)
    lanes = Dispatcher(state.unit_of_work, stack.settings.model_copy(update={
                           "dispatch_batch_size": 2, "dispatch_batches_in_flight": 2}),
                       state.profile, channels,
                       clock=lambda: datetime.now(timezone.utc) + timedelta(hours=1, seconds=1))
    try:
        assert await lanes.drain() >= len(ids)
    finally:
        await close_channels(channels)
    statuses = [(await stack.http.get(f"/messages/{m}")).json()["status"] for m in ids]
    assert sorted(statuses[:4]) == ["sent", "suppressed", "suppressed", "suppressed"]
    assert statuses[4:] == ["sent"] * 5
    sent = [m for m, status in zip(ids, statuses) if status == "sent"]
    assert all(stack.providers.attempts[m] == 1 for m in sent)


async def test_a_message_past_its_expiry_when_its_batch_comes_up_is_suppressed_and_not_sent(
        stack: Stack, broker: str) -> None:
    customer = new_customer()
    await register(stack, broker, customer, tier="high-value")
    [stale] = await queue_for_later(stack, customer, 1, channel="sms",
                                    expires_at=(LATER + timedelta(milliseconds=500)).isoformat())
    [fresh] = await queue_for_later(stack, customer, 1, channel="sms", priority="transactional")
    state, channels = stack.app.state, build_channels(stack.settings)
    batch = Dispatcher(state.unit_of_work, stack.settings.model_copy(update={"dispatch_batch_size": 50}),
                       state.profile, channels, clock=lambda: datetime.now(timezone.utc) + timedelta(hours=1, seconds=1))
    try:
        await batch.drain()
    finally:
        await close_channels(channels)
    expired = (await stack.http.get(f"/messages/{stale}")).json()
    assert (expired["status"], expired["reason"]) == ("suppressed", "expired")
    assert stale not in stack.providers.attempts
    assert (await stack.http.get(f"/messages/{fresh}")).json()["status"] == "sent"
