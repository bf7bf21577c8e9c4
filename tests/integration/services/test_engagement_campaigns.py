"""Campaigns: an audience from the projection, A/B variants with a holdout, a dry run that says who
would be suppressed and why, runs now / later / by cron / at local time, and per-campaign stats.
Journeys started by standing changes; coupon batches with single redemption."""
from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, time, timedelta, timezone
from typing import AsyncIterator
from zoneinfo import ZoneInfo

import pytest

from services.engagement.campaign_rules import HOLDOUT, Arm, assign, local_send_time
from services.engagement.journeys import start_birthday_journeys
from shared.events.catalogue import SegmentMembershipChangedV1, TierChangedV1
from tests.support.engagement import (
    DAYTIME,
    Stack,
    engagement_stack,
    new_customer,
    publish,
    register,
    settled,
)
from tests.support.kafka import eventually


@pytest.fixture(scope="module")
async def stack(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with engagement_stack(broker, tmp_path_factory.mktemp("engagement")) as running:
        yield running


async def segment_of(stack: Stack, broker: str, size: int, **register_options) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    segment, customers = f"seg-{uuid.uuid4().hex[:8]}", [new_customer() for _ in range(size)]
    await asyncio.gather(*(register(stack, broker, customer, **register_options) for customer in customers))
    now = datetime.now(timezone.utc)
    await publish(broker, [SegmentMembershipChangedV1(segment_id=segment, customer_id=c, change="entered", at=now)
                           for c in customers])

    async def all_in() -> bool:
        return all([await _in_segment(stack, c, segment) for c in customers])
    await eventually(all_in)
    return segment, customers


def campaign(segment: str, **changes) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return {"campaign_id": f"cmp-{uuid.uuid4().hex[:8]}", "name": "Winter sale", "audience": {"segment_id": segment},
            "channel": "email", "priority": "promotion", "holdout_percent": 30,
            "variants": [{"name": "A", "subject": "Sale", "body": "A for {{ customer.first_name }}"},
                         {"name": "B", "subject": "Sale", "body": "B for {{ customer.first_name }}", "weight": 2}],
            "schedule": {"kind": "at", "at": (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()}, **changes}


async def test_a_dry_run_lists_who_would_be_contacted_suppressed_and_held_out_and_sends_nothing(stack: Stack, broker: str) -> None:
    segment, customers = await segment_of(stack, broker, 5)
    refuser = new_customer()
    await register(stack, broker, refuser, granted=("email:service",))
    await publish(broker, [SegmentMembershipChangedV1(segment_id=segment, customer_id=refuser, change="entered",
                                                      at=datetime.now(timezone.utc))])
    await eventually(lambda: _in_segment(stack, refuser, segment))
    body = campaign(segment)
    assert (await stack.http.post("/campaigns", json=body)).status_code == 201
    dry = (await stack.http.post(f"/campaigns/{body['campaign_id']}/dry-run")).json()
    arms = {c: assign(body["campaign_id"], c, [Arm("A", 1), Arm("B", 2)], 30) for c in [*customers, refuser]}
    assert sorted(e["customer_id"] for e in dry["holdout"]) == sorted(c for c, a in arms.items() if a == HOLDOUT)
    contacted = {e["customer_id"]: e["arm"] for e in dry["would_contact"]}
    assert contacted == {c: a for c, a in arms.items() if a != HOLDOUT and c != refuser}
    if arms[refuser] != HOLDOUT:
        assert dry["suppressed"] == [{"customer_id": refuser, "arm": arms[refuser], "channel": "email",
                                      "reason": "no_consent:email:marketing"}]
    assert (await stack.http.get(f"/campaigns/{body['campaign_id']}/stats")).json()["audience"] == 0


async def _in_segment(stack: Stack, customer: str, segment: str) -> bool:
    return segment in (await stack.http.get(f"/audience/{customer}")).json()["segments"]


async def test_a_campaign_sent_now_reaches_its_variants_and_counts_them(stack: Stack, broker: str) -> None:
    segment, customers = await segment_of(stack, broker, 4)
    body = campaign(segment, schedule={"kind": "now"}, holdout_percent=25)
    assert (await stack.http.post("/campaigns", json=body)).status_code == 201

    async def finished() -> dict | None:  # type: ignore[type-arg]
        stats = (await stack.http.get(f"/campaigns/{body['campaign_id']}/stats")).json()
        arms = stats["arms"]
        return stats if stats["audience"] == 4 and sum(a.get("sent", 0) for a in arms.values()) == 4 - stats["holdout"] else None
    stats = await eventually(finished)
    expected = {c: assign(body["campaign_id"], c, [Arm("A", 1), Arm("B", 2)], 25) for c in customers}
    assert stats["holdout"] == sum(1 for a in expected.values() if a == HOLDOUT)  # type: ignore[index]
    for customer, arm in expected.items():
        mails = stack.mailbox.to(f"{customer}@example.com")
        assert [m.get_content().strip() for m in mails] == ([] if arm == HOLDOUT else [f"{arm} for Ada"])
    assert (await stack.http.get(f"/campaigns/{body['campaign_id']}")).json()["status"] == "done"


async def test_local_time_campaigns_queue_each_message_for_the_customers_own_clock_and_cancel_drops_them(
        stack: Stack, broker: str) -> None:
    segment, customers = await segment_of(stack, broker, 2, timezone_name="Asia/Tokyo")
    body = campaign(segment, schedule={"kind": "local_time", "local_time": "10:00"}, holdout_percent=0)
    created = (await stack.http.post("/campaigns", json=body)).json()
    run_at = datetime.fromisoformat(created["next_run_at"])
    message_id = f"cmp-{body['campaign_id']}-1-{customers[0]}"

    async def queued() -> dict | None:  # type: ignore[type-arg]
        response = await stack.http.get(f"/messages/{message_id}")
        return response.json() if response.status_code == 200 else None
    message = await eventually(queued)
    assert datetime.fromisoformat(message["due_at"]) == local_send_time(run_at, time(10), "Asia/Tokyo", "UTC")  # type: ignore[index]
    cancelled = (await stack.http.post(f"/campaigns/{body['campaign_id']}/cancel")).json()
    assert cancelled["status"] == "done"
    after = await settled(stack.http, message_id)
    assert (after["status"], after["reason"]) == ("suppressed", "campaign_cancelled")


async def test_a_cron_campaign_is_scheduled_for_its_next_firing_and_bad_schedules_are_refused(stack: Stack) -> None:
    body = campaign("seg-none", schedule={"kind": "cron", "cron": "0 9 * * 1"})
    created = (await stack.http.post("/campaigns", json=body)).json()
    next_run = datetime.fromisoformat(created["next_run_at"])
    assert (next_run.weekday(), next_run.hour, created["status"]) == (0, 9, "scheduled")
    bad = await stack.http.post("/campaigns", json=campaign("seg-none", schedule={"kind": "cron", "cron": "every day"}))
    assert bad.status_code == 422
    listed = (await stack.http.get("/campaigns", params={"limit": 1})).json()
    assert len(listed["items"]) == 1 and listed["next_cursor"]


async def test_a_tier_upgrade_to_high_value_starts_the_vip_welcome_journey_once(stack: Stack, broker: str) -> None:
    journey = {"trigger": {"event": "tier-changed", "to": "high-value"}, "channel": "email", "priority": "service",
               "subject": "Welcome to VIP", "body": "Dear {{ customer.first_name }}, you are now {{ customer.tier }}."}
    assert (await stack.http.put("/journeys/vip-welcome", json=journey)).status_code == 200
    win_back = {"trigger": {"event": "lifecycle-stage-changed", "to": "at-risk"}, "priority": "win_back", "body": "We miss you"}
    assert (await stack.http.put("/journeys/win-back", json=win_back)).status_code == 200
    customer = new_customer()
    await register(stack, broker, customer, tier="potential")
    await publish(broker, [TierChangedV1(customer_id=customer, previous_tier="potential", tier="high-value",
                                         rfm={"r": 5, "f": 5, "m": 5}),  # type: ignore[arg-type]
                           TierChangedV1(customer_id=customer, previous_tier="high-value", tier="high-value",
                                         rfm={"r": 5, "f": 5, "m": 5})])  # type: ignore[arg-type]

    async def welcomed() -> list:  # type: ignore[type-arg]
        return stack.mailbox.to(f"{customer}@example.com")
    [mail] = await eventually(welcomed)  # type: ignore[misc]
    assert (mail["Subject"], mail.get_content().strip()) == ("Welcome to VIP", "Dear Ada, you are now high-value.")
    assert (await stack.http.get("/journeys/vip-welcome")).json()["trigger"]["to"] == "high-value"


async def test_coupon_codes_are_unique_and_redeem_once(stack: Stack) -> None:
    batch = f"b-{uuid.uuid4().hex[:8]}"
    created = await stack.http.post("/coupons/batches", json={"batch_id": batch, "count": 200, "discount": "10%",
                                                               "prefix": "WIN"})
    codes = created.json()["codes"]
    assert created.status_code == 201 and len(set(codes)) == 200 and all(c.startswith("WIN") for c in codes)
    first = await stack.http.post(f"/coupons/{codes[0]}/redeem", json={"customer_id": "c-1", "order_reference": "o-1"})
    again = await stack.http.post(f"/coupons/{codes[0]}/redeem", json={"customer_id": "c-2"})
    assert first.status_code == 200 and first.json()["redeemed_by"] == "c-1"
    assert (again.status_code, again.json()["reason"]) == (409, "already_redeemed")
    racing = await asyncio.gather(*(stack.http.post(f"/coupons/{codes[1]}/redeem", json={"customer_id": f"c-{n}"})
                                    for n in range(4)))
    assert sorted(r.status_code for r in racing) == [200, 409, 409, 409]
    assert (await stack.http.get(f"/coupons/batches/{batch}")).json() == {"batch_id": batch, "issued": 200,
                                                                          "redeemed": 2, "codes": []}


async def test_a_personal_coupon_is_refused_to_anyone_else(stack: Stack) -> None:
    batch = f"b-{uuid.uuid4().hex[:8]}"
    [code] = (await stack.http.post("/coupons/batches", json={"batch_id": batch, "customer_ids": ["c-owner"],
                                                               "discount": "5.00 EUR"})).json()["codes"]
    refused = await stack.http.post(f"/coupons/{code}/redeem", json={"customer_id": "c-other"})
    assert (refused.status_code, refused.json()["reason"]) == (409, "not_yours")
    assert (await stack.http.post(f"/coupons/{code}/redeem", json={"customer_id": "c-owner"})).status_code == 200


async def test_a_birthday_journey_greets_the_customer_on_their_local_birthday_once(stack: Stack, broker: str) -> None:
    journey = {"trigger": {"event": "birthday"}, "channel": "email", "priority": "promotion",
               "subject": "Happy birthday", "body": "Happy birthday, {{ customer.first_name }}!"}
    assert (await stack.http.put("/journeys/birthday", json=journey)).status_code == 200
    customer, other = new_customer(), new_customer()
    today = datetime.now(ZoneInfo(DAYTIME)).strftime("%m-%d")
    tomorrow = (datetime.now(ZoneInfo(DAYTIME)) + timedelta(days=1)).strftime("%m-%d")
    await asyncio.gather(register(stack, broker, customer, birthday=today), register(stack, broker, other, birthday=tomorrow))
    for _ in range(2):  # the hourly job may run again the same day
        async with stack.app.state.unit_of_work() as uow:
            await start_birthday_journeys(uow, datetime.now(timezone.utc), "UTC")
            await uow.commit()
    stack.app.state.dispatch_wake.set()
    [mail] = await eventually(lambda: stack.mailbox.to(f"{customer}@example.com"))  # type: ignore[misc]
    assert mail.get_content().strip() == "Happy birthday, Ada!"
    assert (await stack.http.get("/messages", params={"customer_id": other})).json()["items"] == []
