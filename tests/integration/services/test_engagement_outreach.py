"""Messages over HTTP: delivered by SMTP and signed webhooks under the contact policy, with retries,
suppressions and deferrals recorded, outcomes published, and provider reports taken in."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import AsyncIterator

import pytest

from tests.support.engagement import (
    Stack,
    engagement_stack,
    new_customer,
    register,
    settled,
    zone_at_local_hour,
)
from tests.support.kafka import eventually, read_until


@pytest.fixture(scope="module")
async def stack(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with engagement_stack(broker, tmp_path_factory.mktemp("engagement")) as running:
        yield running


async def send(stack: Stack, **body) -> dict:  # type: ignore[no-untyped-def]
    response = await stack.http.post("/messages", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_an_email_is_rendered_and_handed_to_the_smtp_server_once(stack: Stack, broker: str) -> None:
    customer = new_customer()
    await register(stack, broker, customer, tier="high-value")
    created = await send(stack, customer_id=customer, channel="email", priority="promotion",
                         subject="Hello {{ customer.first_name }}",
                         body="You are {{ customer.tier }} with code {{ coupon_code }}", variables={"coupon_code": "VIP-1"})
    message = await settled(stack.http, created["message_id"])
    assert (message["status"], message["channel"], message["attempts"]) == ("sent", "email", 1)
    [mail] = stack.mailbox.to(f"{customer}@example.com")
    assert mail["Subject"] == "Hello Ada"
    assert mail.get_content().strip() == "You are high-value with code VIP-1"
    assert created["message_id"] in mail["Message-ID"]
    records = await read_until(broker, "outreach-sent", lambda seen: len(seen) >= 1, key=customer)
    event = json.loads(records[0].value)
    assert (event["data"]["message_id"], event["data"]["channel"]) == (created["message_id"], "email")


async def test_sms_goes_through_the_signed_webhook_with_the_message_id_as_idempotency_key(stack: Stack, broker: str) -> None:
    customer = new_customer()
    await register(stack, broker, customer)
    created = await send(stack, customer_id=customer, channel="sms", priority="service", body="Your order shipped")
    assert (await settled(stack.http, created["message_id"]))["status"] == "sent"
    [delivery] = stack.providers.received[created["message_id"]]
    assert (delivery["to"], delivery["body"], delivery["channel"]) == ("+4915112345678", "Your order shipped", "sms")
    assert stack.providers.bad_signatures == 0


async def test_a_provider_outage_is_retried_with_backoff_and_delivered_once(stack: Stack, broker: str) -> None:
    customer = new_customer()
    await register(stack, broker, customer)
    message_id = f"m-{customer}"
    stack.providers.answers[message_id] = [503, 500]
    await send(stack, message_id=message_id, customer_id=customer, channel="sms", priority="transactional", body="Code 1234")
    message = await settled(stack.http, message_id)
    assert (message["status"], message["attempts"]) == ("sent", 3)
    assert [entry["kind"] for entry in message["log"]] == ["queued", "retry", "retry", "sent"]
    assert len(stack.providers.received[message_id]) == 1


async def test_contacts_profile_cannot_give_now_are_looked_up_again_on_the_retry(stack: Stack, broker: str) -> None:
    customer = new_customer()
    await register(stack, broker, customer)
    stack.providers.profile_outages = 1
    message_id = f"m-{customer}"
    await send(stack, message_id=message_id, customer_id=customer, channel="sms", priority="transactional", body="Code 5678")
    message = await settled(stack.http, message_id)
    assert (message["status"], message["attempts"]) == ("sent", 2)
    assert [(entry["kind"], entry["reason"]) for entry in message["log"][:2]] == [
        ("queued", None), ("retry", "profile answered 503")]
    assert len(stack.providers.received[message_id]) == 1


async def test_a_refused_delivery_fails_without_retry_and_frees_the_contact_budget(stack: Stack, broker: str) -> None:
    customer = new_customer()
    await register(stack, broker, customer)
    message_id = f"m-{customer}"
    stack.providers.answers[message_id] = [400]
    await send(stack, message_id=message_id, customer_id=customer, channel="sms", priority="promotion", body="Sale!")
    message = await settled(stack.http, message_id)
    assert (message["status"], message["reason"], message["attempts"]) == ("failed", "provider_status_400", 1)
    assert (await stack.http.get(f"/audience/{customer}")).json()["recent_contacts"] == []
    records = await read_until(broker, "outreach-failed", lambda seen: len(seen) >= 1, key=customer)
    assert json.loads(records[0].value)["data"]["retryable"] is False


async def test_a_second_promotion_the_same_day_is_suppressed_by_the_cap_but_a_receipt_is_not(stack: Stack, broker: str) -> None:
    customer = new_customer()
    await register(stack, broker, customer, tier="ordinary")
    first = await send(stack, customer_id=customer, channel="email", priority="promotion", body="Sale 1")
    assert (await settled(stack.http, first["message_id"]))["status"] == "sent"
    second = await send(stack, customer_id=customer, channel="sms", priority="promotion", body="Sale 2")
    receipt = await send(stack, customer_id=customer, channel="email", priority="transactional", body="Receipt")
    suppressed = await settled(stack.http, second["message_id"])
    assert (suppressed["status"], suppressed["reason"]) == ("suppressed", "frequency_cap:all_channels:day")
    assert suppressed["log"][-1] == {**suppressed["log"][-1], "kind": "suppressed", "reason": "frequency_cap:all_channels:day"}
    assert (await settled(stack.http, receipt["message_id"]))["status"] == "sent"
    listed = (await stack.http.get("/messages", params={"customer_id": customer, "status": "sent", "limit": 1})).json()
    assert len(listed["items"]) == 1 and listed["next_cursor"]
    rest = (await stack.http.get("/messages", params={"customer_id": customer, "status": "sent", "cursor": listed["next_cursor"]})).json()
    assert {m["message_id"] for m in listed["items"] + rest["items"]} == {first["message_id"], receipt["message_id"]}
    records = await read_until(broker, "outreach-suppressed", lambda seen: len(seen) >= 1, key=customer)
    assert json.loads(records[0].value)["data"]["reason"] == "frequency_cap:all_channels:day"


async def test_marketing_without_consent_or_to_a_do_not_contact_customer_is_suppressed(stack: Stack, broker: str) -> None:
    no_consent, barred = new_customer(), new_customer()
    await register(stack, broker, no_consent, granted=("email:service",))
    await register(stack, broker, barred, do_not_contact=True)
    first = await send(stack, customer_id=no_consent, channel="preferred", priority="promotion", body="Sale")
    second = await send(stack, customer_id=barred, channel="email", priority="service", body="Survey")
    assert (await settled(stack.http, first["message_id"]))["reason"] == "no_consent:email:marketing"
    assert (await settled(stack.http, second["message_id"]))["reason"] == "do_not_contact"
    late = new_customer()  # profile already says do-not-contact; the event has not reached engagement yet
    await register(stack, broker, late)
    stack.providers.customers[late]["do_not_contact"] = True
    third = await send(stack, customer_id=late, channel="email", priority="service", body="Survey")
    assert (await settled(stack.http, third["message_id"]))["reason"] == "do_not_contact"
    assert stack.mailbox.to(f"{late}@example.com") == []


async def test_a_message_in_the_customers_quiet_hours_is_deferred_to_their_morning(stack: Stack, broker: str) -> None:
    customer = new_customer()
    await register(stack, broker, customer, timezone_name=zone_at_local_hour(23))
    created = await send(stack, customer_id=customer, channel="email", priority="service", body="Survey")

    async def deferred() -> dict | None:  # type: ignore[type-arg]
        body = (await stack.http.get(f"/messages/{created['message_id']}")).json()
        return body if any(entry["kind"] == "deferred" for entry in body["log"]) else None
    message = await eventually(deferred, timeout=20)
    assert message["status"] == "queued" and message["attempts"] == 0  # type: ignore[index]
    due = datetime.fromisoformat(message["due_at"])  # type: ignore[index]
    assert timedelta(hours=8) < due - datetime.now(timezone.utc) < timedelta(hours=10)
    assert message["log"][-1]["reason"].startswith("quiet_hours until")  # type: ignore[index]


async def test_a_message_for_later_waits_and_a_retried_post_replays_the_first_answer(stack: Stack, broker: str) -> None:
    customer = new_customer()
    later = (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat()
    body = {"customer_id": customer, "channel": "email", "priority": "transactional", "body": "Later", "send_at": later}
    first = await stack.http.post("/messages", json=body, headers={"Idempotency-Key": f"k-{customer}"})
    again = await stack.http.post("/messages", json=body, headers={"Idempotency-Key": f"k-{customer}"})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["message_id"] == first.json()["message_id"]
    current = (await stack.http.get(f"/messages/{first.json()['message_id']}")).json()
    assert (current["status"], datetime.fromisoformat(current["due_at"])) == ("queued", datetime.fromisoformat(later))


async def test_a_message_without_template_or_body_or_with_a_broken_body_is_refused(stack: Stack) -> None:
    neither = await stack.http.post("/messages", json={"customer_id": "c-1", "priority": "promotion"})
    broken = await stack.http.post("/messages", json={"customer_id": "c-1", "body": "{% if %}"})
    missing = await stack.http.post("/messages", json={"customer_id": "c-1", "template_id": "no-such-template"})
    assert neither.status_code == broken.status_code == missing.status_code == 422
    assert "TemplateSyntaxError" in broken.json()["detail"]
    assert missing.json()["errors"][0]["field"] == "body.template_id"


async def test_providers_report_opens_and_bounces_and_a_bounce_is_published(stack: Stack, broker: str) -> None:
    customer = new_customer()
    await register(stack, broker, customer)
    created = await send(stack, customer_id=customer, channel="email", priority="service", body="Hi")
    await settled(stack.http, created["message_id"])
    for status in ("delivered", "opened"):
        response = await stack.http.post("/delivery-reports", json={"message_id": created["message_id"], "status": status})
        assert response.status_code == 202
    assert (await stack.http.get(f"/messages/{created['message_id']}")).json()["delivery_status"] == "opened"
    await stack.http.post("/delivery-reports", json={"message_id": created["message_id"], "status": "bounced",
                                                     "detail": "mailbox full"})
    records = await read_until(broker, "outreach-failed", lambda seen: len(seen) >= 1, key=customer)
    assert json.loads(records[0].value)["data"]["reason"] == "bounced: mailbox full"
    unknown = await stack.http.post("/delivery-reports", json={"message_id": "nope", "status": "opened"})
    assert unknown.status_code == 404
