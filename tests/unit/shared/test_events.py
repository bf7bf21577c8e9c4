"""The event contract: envelope, payload models, registry and the reasons records are rejected."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from shared.events.catalogue import (
    CATALOGUE,
    CustomerMergedV1,
    CustomerRegisteredV1,
    PurchaseItemV1,
    PurchaseRecordedV1,
    TierChangedV1,
)
from shared.events.envelope import CONTENT_TYPE, decode_envelope, encode, new_event
from shared.events.examples import EXAMPLES, example_event
from shared.events.registry import (
    REGISTRY,
    TOPICS,
    EventRejected,
    InvalidEventData,
    SubjectMismatch,
    UndecodableEvent,
    UnknownEventType,
    dlq_topic,
    model_for,
    parse,
)

# The event catalogue of DESIGN.md, version 1, as written there.
DESIGN_EVENT_TYPES = {
    "purchase-recorded", "purchase-refunded", "customer-registered", "customer-updated",
    "customer-merged", "customer-erased", "interaction-recorded", "segment-membership-changed",
    "tier-changed", "lifecycle-stage-changed", "churn-risk-changed", "survey-invited",
    "feedback-received", "complaint-opened", "complaint-resolved", "outreach-sent",
    "outreach-suppressed", "outreach-failed",
}


def purchase_envelope(**data_changes: Any) -> dict[str, Any]:
    envelope = example_event("purchase-recorded", 1).model_dump(mode="json")
    envelope["data"].update(data_changes)
    return envelope


def raw(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope).encode()


def rejection(record: bytes) -> EventRejected:
    with pytest.raises(EventRejected) as caught:
        parse(record)
    return caught.value


def test_every_design_event_type_has_a_version_1_model_and_a_topic():
    assert set(TOPICS) == DESIGN_EVENT_TYPES
    assert {(event_type, 1) for event_type in DESIGN_EVENT_TYPES} <= set(REGISTRY)
    assert set(CATALOGUE) == DESIGN_EVENT_TYPES


def test_registry_keys_agree_with_the_models_they_name():
    for (event_type, dataversion), model in REGISTRY.items():
        assert (model.event_type, model.dataversion) == (event_type, dataversion)
        assert model_for(event_type, dataversion) is model


def test_every_registered_event_has_an_example():
    assert set(EXAMPLES) == set(REGISTRY)


@pytest.mark.parametrize("key", sorted(REGISTRY), ids=lambda key: f"{key[0]}.v{key[1]}")
def test_example_event_survives_encode_and_parse(key: tuple[str, int]):
    event = example_event(*key)

    parsed_event, data = parse(encode(event))

    assert parsed_event == event
    assert data == EXAMPLES[key]
    assert type(data) is REGISTRY[key]
    assert parsed_event.subject == data.subject()


def test_encoding_is_compact_utf8_json_without_an_absent_correlationid():
    event = new_event(
        CustomerRegisteredV1(customer_id="C-1", tags=["café"]), source="/services/profile"
    )

    record = encode(event)

    assert b" " not in record
    assert "café".encode() in record
    assert "correlationid" not in json.loads(record)
    assert CONTENT_TYPE == "application/cloudevents+json"


def test_new_event_takes_type_version_and_subject_from_the_payload():
    before = datetime.now(UTC)
    tier_changed = EXAMPLES[("tier-changed", 1)]
    event = new_event(tier_changed, source="/services/scoring", correlation_id="r-1")

    assert (event.type, event.dataversion, event.subject) == ("tier-changed", 1, "C-1001")
    assert event.specversion == "1.0" and event.datacontenttype == "application/json"
    assert event.time >= before and event.time.tzinfo is not None
    assert event.id and event.id != new_event(tier_changed, source="x").id
    assert event.correlationid == "r-1"


def test_money_travels_as_a_decimal_string():
    event = example_event("purchase-recorded", 1)

    data = json.loads(encode(event))["data"]

    assert data["total_amount"] == "54.90"
    assert data["items"][0]["unit_price"] == "12.50"
    assert parse(encode(event))[1].total_amount == Decimal("54.90")


def test_dlq_topic_is_the_topic_with_a_dlq_suffix():
    assert dlq_topic("purchase-recorded") == "purchase-recorded.dlq"


def test_bytes_that_are_not_utf8_are_rejected():
    assert isinstance(rejection(b"\xff\xfe{}"), UndecodableEvent)


def test_non_json_is_rejected():
    error = rejection(b"{not json")
    assert isinstance(error, UndecodableEvent)
    assert "not JSON" in error.reason


def test_json_that_is_not_an_envelope_is_rejected():
    assert isinstance(rejection(b"[1, 2]"), UndecodableEvent)
    assert isinstance(rejection(b""), UndecodableEvent)


def test_envelope_missing_an_attribute_is_rejected_naming_it():
    envelope = purchase_envelope()
    del envelope["source"]

    error = rejection(raw(envelope))

    assert isinstance(error, UndecodableEvent)
    assert "source" in error.reason


def test_unknown_type_is_rejected():
    envelope = purchase_envelope()
    envelope["type"] = "purchase-teleported"

    assert isinstance(rejection(raw(envelope)), UnknownEventType)


def test_unknown_dataversion_is_rejected():
    envelope = purchase_envelope()
    envelope["dataversion"] = 99

    error = rejection(raw(envelope))

    assert isinstance(error, UnknownEventType)
    assert "99" in error.reason


def test_dataversion_must_be_an_integer_from_1():
    for bad in (0, "1", True, 1.5):
        envelope = purchase_envelope()
        envelope["dataversion"] = bad
        assert isinstance(rejection(raw(envelope)), UndecodableEvent), bad


def test_invalid_payload_is_rejected_naming_each_field():
    envelope = purchase_envelope(currency="euro")
    envelope["data"]["items"][1]["quantity"] = 0

    error = rejection(raw(envelope))

    assert isinstance(error, InvalidEventData)
    assert "data.currency" in error.reason
    assert "data.items.1.quantity" in error.reason


def test_naive_payload_timestamp_is_rejected():
    error = rejection(raw(purchase_envelope(occurred_at="2025-03-14T09:26:53")))

    assert isinstance(error, InvalidEventData)
    assert "data.occurred_at" in error.reason


def test_naive_envelope_time_is_rejected():
    envelope = purchase_envelope()
    envelope["time"] = "2025-03-14T09:30:00"

    error = rejection(raw(envelope))

    assert isinstance(error, UndecodableEvent)
    assert "time" in error.reason


def test_timestamps_must_be_strings_not_epoch_numbers():
    assert isinstance(rejection(raw(purchase_envelope(occurred_at=1741944413))), InvalidEventData)


@pytest.mark.parametrize("customer_id", ["", "a b", "x" * 65, "Ünïcode", "C/1"])
def test_bad_customer_id_is_rejected(customer_id: str):
    envelope = purchase_envelope(customer_id=customer_id)
    envelope["subject"] = customer_id

    assert isinstance(rejection(raw(envelope)), UndecodableEvent)
    with pytest.raises(ValidationError):
        PurchaseRecordedV1.model_validate(envelope["data"])


def test_negative_amount_is_rejected():
    error = rejection(raw(purchase_envelope(total_amount="-5.00")))

    assert isinstance(error, InvalidEventData)
    assert "data.total_amount" in error.reason


def test_amount_as_a_json_float_is_rejected():
    error = rejection(raw(purchase_envelope(total_amount=54.9)))

    assert "data.total_amount" in error.reason


def test_subject_that_differs_from_the_payload_customer_is_rejected():
    envelope = purchase_envelope()
    envelope["subject"] = "someone-else"

    error = rejection(raw(envelope))

    assert isinstance(error, SubjectMismatch)
    assert isinstance(error, InvalidEventData)


def test_unknown_payload_fields_are_tolerated():
    envelope = purchase_envelope(loyalty_card="LC-9")
    envelope["data"]["items"][0]["gift_wrap"] = True

    _, data = parse(raw(envelope))

    assert data == EXAMPLES[("purchase-recorded", 1)]


def test_unknown_extension_attributes_are_kept():
    envelope = purchase_envelope()
    envelope["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    event = decode_envelope(raw(envelope))

    assert json.loads(encode(event))["traceparent"] == envelope["traceparent"]


def test_purchase_items_need_not_add_up_to_the_total():
    purchase = PurchaseRecordedV1(
        order_id="O-1", customer_id="C-1", occurred_at=datetime(2025, 1, 1, tzinfo=UTC),
        total_amount="5", currency="EUR",
        items=[PurchaseItemV1(sku="S", quantity=3, unit_price="10.00")],
    )
    assert purchase.total_amount == Decimal(5)
    assert PurchaseRecordedV1(**{**purchase.model_dump(), "items": []}).items == []


def test_birthday_is_a_real_month_day_including_february_29():
    assert CustomerRegisteredV1(customer_id="C-1", birthday="02-29").birthday == "02-29"
    for bad in ("02-30", "13-01", "2-9", "1990-02-01"):
        with pytest.raises(ValidationError):
            CustomerRegisteredV1(customer_id="C-1", birthday=bad)


def test_gender_outside_the_fixed_set_is_rejected():
    with pytest.raises(ValidationError):
        CustomerRegisteredV1(customer_id="C-1", gender="F")


def test_merged_event_is_keyed_by_the_surviving_customer():
    merge = CustomerMergedV1(surviving_customer_id="C-1", merged_customer_id="guest:9")

    assert new_event(merge, source="/services/profile").subject == "C-1"
    with pytest.raises(ValidationError):
        CustomerMergedV1(surviving_customer_id="C-1", merged_customer_id="C-1")


def test_first_tier_assignment_has_no_previous_tier_but_clv_needs_a_currency():
    first = TierChangedV1(customer_id="C-1", tier="ordinary", rfm={"r": 3, "f": 1, "m": 2})

    assert first.previous_tier is None
    with pytest.raises(ValidationError, match="currency"):
        TierChangedV1(customer_id="C-1", tier="ordinary", rfm={"r": 3, "f": 1, "m": 2}, clv="10")


def test_feedback_score_must_fit_its_scale():
    envelope = example_event("feedback-received", 1).model_dump(mode="json")
    envelope["data"]["score"] = 11

    error = rejection(raw(envelope))

    assert isinstance(error, InvalidEventData)
    assert "between 0 and 10" in error.reason
