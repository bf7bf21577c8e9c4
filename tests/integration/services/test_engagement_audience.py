"""The customer projection from profile's, scoring's and feedback's events; erasure; templates with
per-locale variants and previews; survey invitations delivered under the contact policy."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import AsyncIterator

import pytest

from services.engagement.loyalty import expire_points

from shared.events.catalogue import (
    ChurnRiskChangedV1,
    CustomerErasedV1,
    CustomerMergedV1,
    CustomerUpdatedV1,
    LifecycleStageChangedV1,
    PurchaseRecordedV1,
    SegmentMembershipChangedV1,
    SurveyInvitedV1,
)
from tests.support.engagement import (
    DAYTIME,
    Stack,
    consents,
    engagement_stack,
    new_customer,
    publish,
    register,
    settled,
)
from tests.support.kafka import eventually, read_until


@pytest.fixture(scope="module")
async def stack(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with engagement_stack(broker, tmp_path_factory.mktemp("engagement")) as running:
        yield running


async def audience(stack: Stack, customer: str) -> dict:  # type: ignore[type-arg]
    return (await stack.http.get(f"/audience/{customer}")).json()  # type: ignore[no-any-return]


async def test_the_projection_holds_what_profile_and_scoring_said_about_the_customer(stack: Stack, broker: str) -> None:
    customer = new_customer()
    await register(stack, broker, customer, tier="potential", locale="fr-FR", birthday="02-29")
    now = datetime.now(timezone.utc)
    await publish(broker, [
        CustomerUpdatedV1(customer_id=customer, timezone="Europe/Paris", locale="fr-FR", birthday="02-29",
                          consents=consents("sms:marketing"), do_not_contact=False),
        LifecycleStageChangedV1(customer_id=customer, stage="at-risk"),
        ChurnRiskChangedV1(customer_id=customer, risk="high"),
        SegmentMembershipChangedV1(segment_id="seg-vip", customer_id=customer, change="entered", at=now),
        SegmentMembershipChangedV1(segment_id="seg-new", customer_id=customer, change="entered", at=now),
        SegmentMembershipChangedV1(segment_id="seg-new", customer_id=customer, change="exited", at=now),
    ])

    async def projected() -> dict | None:  # type: ignore[type-arg]
        view = await audience(stack, customer)
        return view if view["churn_risk"] == "high" and view["lifecycle_stage"] == "at-risk" and view["segments"] == ["seg-vip"] else None
    view = await eventually(projected)
    assert {k: view[k] for k in ("timezone", "locale", "birthday", "tier", "consents", "do_not_contact")} == {  # type: ignore[index]
        "timezone": "Europe/Paris", "locale": "fr-FR", "birthday": "02-29", "tier": "potential",
        "consents": ["sms:marketing"], "do_not_contact": False}


async def test_erasure_purges_projection_messages_history_and_points(stack: Stack, broker: str) -> None:
    customer = new_customer()
    await register(stack, broker, customer)
    created = (await stack.http.post("/messages", json={"customer_id": customer, "channel": "email",
                                                        "priority": "service", "body": "Hi"})).json()
    await settled(stack.http, created["message_id"])
    await publish(broker, [PurchaseRecordedV1(order_id=f"o-{customer}", customer_id=customer, occurred_at=datetime.now(timezone.utc),
                                              total_amount=Decimal("42.00"), currency="EUR")])
    await eventually(lambda: _balance(stack, customer))
    await publish(broker, [CustomerErasedV1(customer_id=customer)])

    async def erased() -> bool:
        return (await stack.http.get(f"/audience/{customer}")).status_code == 404
    await eventually(erased)
    assert (await stack.http.get(f"/messages/{created['message_id']}")).status_code == 404
    assert (await stack.http.get(f"/loyalty/{customer}")).json()["balance"] == 0


async def _balance(stack: Stack, customer: str) -> int:
    return (await stack.http.get(f"/loyalty/{customer}")).json()["balance"]  # type: ignore[no-any-return]


TEMPLATE = {"template_id": "welcome", "default_locale": "en", "variants": [
    {"locale": "en", "subject": "Welcome {{ customer.first_name }}", "body": "You have {{ customer.points_balance }} points."},
    {"locale": "fr", "subject": "Bienvenue {{ customer.first_name }}", "body": "Vous avez {{ customer.points_balance }} points."},
]}


async def test_a_template_preview_renders_the_customers_locale_variant(stack: Stack, broker: str) -> None:
    customer = new_customer()
    await register(stack, broker, customer, locale="fr-CA")
    assert (await stack.http.post("/templates", json=TEMPLATE)).status_code == 201
    assert (await stack.http.post("/templates", json=TEMPLATE)).status_code == 409
    preview = await stack.http.post("/templates/welcome/preview", json={"customer_id": customer})
    assert preview.status_code == 200, preview.text
    assert preview.json() == {"template_id": "welcome", "locale": "fr", "subject": "Bienvenue Ada",
                              "body": "Vous avez 0 points."}
    english = await stack.http.post("/templates/welcome/preview", json={"customer_id": customer, "locale": "en-GB"})
    assert english.json()["subject"] == "Welcome Ada"


async def test_a_template_that_fails_to_render_or_compile_gives_a_clear_error(stack: Stack, broker: str) -> None:
    broken = {"default_locale": "en", "variants": [{"locale": "en", "body": "Code: {{ coupon_code.upper() }} {{ nope }}"}]}
    assert (await stack.http.put("/templates/broken", json=broken)).status_code == 200
    response = await stack.http.post("/templates/broken/preview", json={"customer_id": new_customer()})
    assert response.status_code == 422
    assert "failed to render" in response.json()["detail"] and "UndefinedError" in response.json()["detail"]
    bad_syntax = {"default_locale": "en", "variants": [{"locale": "en", "body": "{% for %}"}]}
    refused = await stack.http.put("/templates/bad", json=bad_syntax)
    assert refused.status_code == 422 and "en.body: TemplateSyntaxError" in refused.json()["detail"]
    assert (await stack.http.get("/templates/bad")).status_code == 404


async def test_a_survey_invitation_is_delivered_through_the_preferred_channel_as_a_service_message(stack: Stack, broker: str) -> None:
    customer = new_customer()
    await register(stack, broker, customer, granted=("sms:service",), timezone_name=DAYTIME)
    invitation = f"inv-{customer}"
    await publish(broker, [SurveyInvitedV1(invitation_id=invitation, customer_id=customer, survey_id="srv-1",
                                           survey_name="Your visit", url=f"https://survey.example.com/s/{invitation}",
                                           expires_at=datetime.now(timezone.utc) + timedelta(days=7))])

    async def queued() -> bool:
        return (await stack.http.get(f"/messages/survey-{invitation}")).status_code == 200
    await eventually(queued)
    message = await settled(stack.http, f"survey-{invitation}")
    assert (message["status"], message["channel"], message["priority"]) == ("sent", "sms", "service")
    [delivery] = stack.providers.received[f"survey-{invitation}"]
    assert delivery["body"] == f"Your visit: we would value your opinion. https://survey.example.com/s/{invitation}"
    records = await read_until(broker, "outreach-sent", lambda seen: len(seen) >= 1, key=customer)
    assert json.loads(records[0].value)["data"]["invitation_id"] == invitation


async def test_the_contact_policy_is_read_and_replaced_over_http(stack: Stack) -> None:
    policy = (await stack.http.get("/contact-policy")).json()
    assert policy["caps"]["high-value"]["across_channels"]["day"] > policy["caps"]["low-value"]["across_channels"]["day"] or \
        policy["caps"]["high-value"]["across_channels"]["week"] > policy["caps"]["low-value"]["across_channels"]["week"]
    policy["caps"]["low-value"]["across_channels"]["month"] = 2
    assert (await stack.http.put("/contact-policy", json=policy)).status_code == 200
    assert (await stack.http.get("/contact-policy")).json()["caps"]["low-value"]["across_channels"]["month"] == 2
    invalid = await stack.http.put("/contact-policy", json={**policy, "caps": {"gold": policy["caps"]["default"]}})
    assert invalid.status_code == 422


async def test_points_are_redeemed_against_the_balance_once_per_reference_and_expire_first_in_first_out(
        stack: Stack, broker: str) -> None:
    customer = new_customer()
    earned_at = datetime.now(timezone.utc) - timedelta(days=10)
    await publish(broker, [PurchaseRecordedV1(order_id=f"o-{customer}", customer_id=customer, occurred_at=earned_at,
                                              total_amount=Decimal("1200.00"), currency="EUR")])
    await eventually(lambda: _balance(stack, customer))
    assert (await stack.http.get(f"/loyalty/{customer}")).json()["level"] == "silver"
    spend = {"points": 500, "reference": "order-9"}
    first = await stack.http.post(f"/loyalty/{customer}/redemptions", json=spend)
    retry = await stack.http.post(f"/loyalty/{customer}/redemptions", json=spend)
    assert (first.status_code, first.json()["balance"], retry.json()["balance"]) == (201, 700, 700)
    too_much = await stack.http.post(f"/loyalty/{customer}/redemptions", json={"points": 701, "reference": "order-10"})
    assert too_much.status_code == 409
    racing = await asyncio.gather(*(stack.http.post(f"/loyalty/{customer}/redemptions",
                                                    json={"points": 400, "reference": f"race-{n}"}) for n in range(3)))
    assert sorted(r.status_code for r in racing) == [201, 409, 409]
    now = datetime.now(timezone.utc)
    async with stack.app.state.unit_of_work() as uow:
        await expire_points(uow, cutoff=now - timedelta(days=5), now=now)
        await uow.commit()
    assert await _balance(stack, customer) == 0  # 1200 earned before the cutoff, 900 spent: 300 expire


def _order(customer: str, order_id: str, *items: tuple[str, str]) -> PurchaseRecordedV1:
    return PurchaseRecordedV1(order_id=order_id, customer_id=customer, occurred_at=datetime.now(timezone.utc),
                              total_amount=Decimal("10.00"), currency="EUR",
                              items=[{"sku": sku, "name": sku.title(), "category": category, "quantity": 1,  # type: ignore[misc]
                                      "unit_price": "5.00"} for sku, category in items])


async def test_recommendations_come_from_what_others_bought_together_and_the_customers_categories(
        stack: Stack, broker: str) -> None:
    run = new_customer()
    tea, cup, pot, biscuit = (f"{name}-{run}" for name in ("tea", "cup", "pot", "biscuit"))
    others = [new_customer() for _ in range(3)]
    customer = new_customer()
    duplicate = _order(others[0], f"o1-{run}", (tea, "drinks"), (cup, "kitchen"))
    await publish(broker, [
        duplicate, duplicate,  # the same order reported twice counts once
        _order(others[1], f"o2-{run}", (tea, "drinks"), (cup, "kitchen")),
        _order(others[2], f"o3-{run}", (tea, "drinks"), (pot, "kitchen")),
        _order(others[2], f"o4-{run}", (biscuit, "snacks")),
        _order(customer, f"o5-{run}", (tea, "drinks"), (f"coffee-{run}", "drinks")),
    ])

    expected = [(cup, 2.0, "bought_together"), (pot, 1.0, "bought_together")]

    async def recommended() -> bool:  # customers sit on different partitions: wait for every order
        items = (await stack.http.get(f"/recommendations/{customer}")).json()["items"]
        return [(i["sku"], i["score"], i["reason"]) for i in items] == expected
    await eventually(recommended)
    assert (await stack.http.get(f"/recommendations/{new_customer()}")).json()["items"] == []


async def test_a_merged_customers_points_and_contacts_count_for_the_surviving_one(stack: Stack, broker: str) -> None:
    surviving, merged = new_customer(), new_customer()
    await register(stack, broker, merged)
    created = (await stack.http.post("/messages", json={"customer_id": merged, "channel": "email",
                                                        "priority": "service", "body": "Hi"})).json()
    await settled(stack.http, created["message_id"])
    await publish(broker, [PurchaseRecordedV1(order_id=f"o-{merged}", customer_id=merged, occurred_at=datetime.now(timezone.utc),
                                              total_amount=Decimal("30.00"), currency="EUR")])
    await eventually(lambda: _balance(stack, merged))
    await publish(broker, [CustomerMergedV1(surviving_customer_id=surviving, merged_customer_id=merged)])
    assert await eventually(lambda: _balance(stack, surviving)) == 30
    assert (await stack.http.get(f"/audience/{surviving}")).json()["recent_contacts"][0]["message_id"] == created["message_id"]
    assert (await stack.http.get(f"/messages/{created['message_id']}")).json()["customer_id"] == surviving
    assert await _balance(stack, merged) == 0
