"""Event contracts: the CloudEvents envelope, one payload model per (type, dataversion), the registry.

Producers build events with `new_event(PayloadV1(...), source=...)` and `encode`; consumers call
`parse(raw)` and dead-letter whatever raises `EventRejected`.
"""
from shared.events.envelope import (
    CONTENT_TYPE,
    CloudEvent,
    EventData,
    decode_envelope,
    encode,
    new_event,
)
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

__all__ = [
    "CONTENT_TYPE",
    "REGISTRY",
    "TOPICS",
    "CloudEvent",
    "EventData",
    "EventRejected",
    "InvalidEventData",
    "SubjectMismatch",
    "UndecodableEvent",
    "UnknownEventType",
    "decode_envelope",
    "dlq_topic",
    "encode",
    "model_for",
    "new_event",
    "parse",
]
