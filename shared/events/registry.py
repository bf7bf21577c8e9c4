"""The explicit (type, dataversion) -> model table, topic names, and parsing of incoming records."""
from __future__ import annotations

from pydantic import ValidationError

from shared.events.catalogue import (
    ChurnRiskChangedV1,
    ComplaintOpenedV1,
    ComplaintResolvedV1,
    CustomerErasedV1,
    CustomerMergedV1,
    CustomerRegisteredV1,
    CustomerUpdatedV1,
    FeedbackReceivedV1,
    InteractionRecordedV1,
    LifecycleStageChangedV1,
    OutreachFailedV1,
    OutreachSentV1,
    OutreachSuppressedV1,
    PurchaseRecordedV1,
    PurchaseRefundedV1,
    SegmentMembershipChangedV1,
    SurveyInvitedV1,
    TierChangedV1,
)
from shared.events.envelope import CloudEvent, EventData, decode_envelope
from shared.events.errors import (
    EventRejected,
    InvalidEventData,
    SubjectMismatch,
    UndecodableEvent,
    UnknownEventType,
    describe_validation_error,
)

__all__ = [
    "DLQ_ERROR_TYPE_HEADER",
    "DLQ_HEADERS",
    "DLQ_ORIGINAL_OFFSET_HEADER",
    "DLQ_ORIGINAL_PARTITION_HEADER",
    "DLQ_ORIGINAL_TOPIC_HEADER",
    "DLQ_REASON_HEADER",
    "REGISTRY",
    "TOPICS",
    "EventRejected",
    "InvalidEventData",
    "SubjectMismatch",
    "UndecodableEvent",
    "UnknownEventType",
    "dlq_topic",
    "model_for",
    "parse",
]

# Written out rather than discovered, so that adding a version is a reviewed, visible change.
REGISTRY: dict[tuple[str, int], type[EventData]] = {
    ("purchase-recorded", 1): PurchaseRecordedV1,
    ("purchase-refunded", 1): PurchaseRefundedV1,
    ("customer-registered", 1): CustomerRegisteredV1,
    ("customer-updated", 1): CustomerUpdatedV1,
    ("customer-merged", 1): CustomerMergedV1,
    ("customer-erased", 1): CustomerErasedV1,
    ("interaction-recorded", 1): InteractionRecordedV1,
    ("segment-membership-changed", 1): SegmentMembershipChangedV1,
    ("tier-changed", 1): TierChangedV1,
    ("lifecycle-stage-changed", 1): LifecycleStageChangedV1,
    ("churn-risk-changed", 1): ChurnRiskChangedV1,
    ("survey-invited", 1): SurveyInvitedV1,
    ("feedback-received", 1): FeedbackReceivedV1,
    ("complaint-opened", 1): ComplaintOpenedV1,
    ("complaint-resolved", 1): ComplaintResolvedV1,
    ("outreach-sent", 1): OutreachSentV1,
    ("outreach-suppressed", 1): OutreachSuppressedV1,
    ("outreach-failed", 1): OutreachFailedV1,
}

# One topic per event type, named as the type; every dataversion of a type shares its topic.
TOPICS: tuple[str, ...] = tuple(dict.fromkeys(event_type for event_type, _ in REGISTRY))

# Headers a consumer sets on a record it moves to `<topic>.dlq` (values are UTF-8 strings).
DLQ_REASON_HEADER = "dlq-reason"
DLQ_ERROR_TYPE_HEADER = "dlq-error-type"
DLQ_ORIGINAL_TOPIC_HEADER = "dlq-original-topic"
DLQ_ORIGINAL_PARTITION_HEADER = "dlq-original-partition"
DLQ_ORIGINAL_OFFSET_HEADER = "dlq-original-offset"
DLQ_HEADERS: tuple[str, ...] = (
    DLQ_REASON_HEADER,
    DLQ_ERROR_TYPE_HEADER,
    DLQ_ORIGINAL_TOPIC_HEADER,
    DLQ_ORIGINAL_PARTITION_HEADER,
    DLQ_ORIGINAL_OFFSET_HEADER,
)


def dlq_topic(topic: str) -> str:
    """The dead-letter topic for records of `topic` that cannot be processed."""
    return f"{topic}.dlq"


def model_for(event_type: str, dataversion: int) -> type[EventData]:
    """The payload model for (type, dataversion); UnknownEventType when none is registered."""
    try:
        return REGISTRY[(event_type, dataversion)]
    except KeyError:
        known = sorted(version for known_type, version in REGISTRY if known_type == event_type)
        if known:
            raise UnknownEventType(
                f"{event_type} has no dataversion {dataversion} (known: {known})"
            ) from None
        raise UnknownEventType(f"unknown event type {event_type!r}") from None


def parse(raw: bytes) -> tuple[CloudEvent, EventData]:
    """Decode and validate a record value: envelope, then payload, then subject against payload."""
    event = decode_envelope(raw)
    model = model_for(event.type, event.dataversion)
    try:
        data = model.model_validate(event.data)
    except ValidationError as exc:
        reason = describe_validation_error(exc, prefix="data")
        raise InvalidEventData(f"invalid {event.type} v{event.dataversion}: {reason}") from None
    if data.subject() != event.subject:
        raise SubjectMismatch(
            f"subject {event.subject!r} does not match the payload's customer {data.subject()!r}"
        )
    return event, data
