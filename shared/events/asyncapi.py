"""The AsyncAPI 3.0.0 description of every topic, its message, producers, consumers and DLQ."""
from __future__ import annotations

from typing import Any

from shared.events.catalogue import CATALOGUE
from shared.events.envelope import CONTENT_TYPE
from shared.events.examples import example_event
from shared.events.fields import CUSTOMER_ID_PATTERN
from shared.events.registry import DLQ_HEADERS, REGISTRY, TOPICS, dlq_topic
from shared.events.schemas import event_schema_parts

KAFKA_BINDING_VERSION = "0.5.0"
COMPONENT_REF = "#/components/schemas/{model}"
DEAD_LETTER = "dead-letter"

_DESCRIPTION = """\
Events joining the profile, scoring, engagement and feedback services, and the purchase events
that external systems publish.

- One Kafka topic per event type, named exactly as the type. The record key is the customer_id
  (the CloudEvents `subject`), so the events of one customer stay in order.
- Every record value is a CloudEvents 1.0 envelope in structured JSON mode
  (`application/cloudevents+json`); `dataversion` (integer, from 1) selects the payload schema.
- Delivery is at least once: consumers are idempotent (inbox of event ids plus natural keys).
  A consumer that cannot process a record after a bounded number of retries copies it, unchanged,
  to `<topic>.dlq` with the reason in headers, and moves on.
- Additive payload changes keep the dataversion, so consumers ignore fields they do not know; a
  breaking change is published as a new dataversion beside the old one.
"""

_DLQ_HEADER_TEXT = {
    "dlq-reason": "Human-readable reason, naming the failing field(s) for invalid payloads.",
    "dlq-error-type": "Error class, e.g. UndecodableEvent, UnknownEventType, InvalidEventData.",
    "dlq-original-topic": "Topic the record was read from.",
    "dlq-original-partition": "Partition the record was read from (decimal integer).",
    "dlq-original-offset": "Offset of the record in that partition (decimal integer).",
}


def _ref(*path: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(path)}


def _message_id(event_type: str, dataversion: int) -> str:
    return f"{event_type}-v{dataversion}"


def _key_binding(description: str) -> dict[str, Any]:
    return {
        "kafka": {
            "key": {"type": "string", "pattern": CUSTOMER_ID_PATTERN, "description": description},
            "bindingVersion": KAFKA_BINDING_VERSION,
        }
    }


def _event_message(event_type: str, dataversion: int) -> dict[str, Any]:
    example = example_event(event_type, dataversion).model_dump(mode="json")
    return {
        "name": event_type,
        "title": f"{event_type} v{dataversion}",
        "summary": CATALOGUE[event_type].description,
        "contentType": CONTENT_TYPE,
        "correlationId": {"location": "$message.payload#/correlationid"},
        "payload": _ref("components", "schemas", _message_id(event_type, dataversion)),
        "bindings": _key_binding("The customer_id, equal to the CloudEvents subject."),
        "examples": [{"name": "example", "payload": example}],
    }


def _dead_letter_message() -> dict[str, Any]:
    return {
        "name": DEAD_LETTER,
        "title": "Dead letter",
        "summary": "A record a consumer could not process, copied unchanged from its topic.",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "required": list(DLQ_HEADERS),
            "properties": {
                name: {"type": "string", "description": _DLQ_HEADER_TEXT[name]}
                for name in DLQ_HEADERS
            },
        },
        "payload": {
            "description": "The original record value byte for byte: usually a CloudEvent, but it "
            "may be bytes that were not UTF-8 or not JSON."
        },
        "bindings": _key_binding("The original record key (the customer_id)."),
    }


def _channels_and_operations() -> tuple[dict[str, Any], dict[str, Any]]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in TOPICS:
        spec = CATALOGUE[topic]
        messages = {
            _message_id(topic, version): _ref("components", "messages", _message_id(topic, version))
            for event_type, version in REGISTRY
            if event_type == topic
        }
        channels[topic] = {"address": topic, "description": spec.description, "messages": messages}
        dlq = f"{topic}-dlq"
        channels[dlq] = {
            "address": dlq_topic(topic),
            "description": f"Dead letters of `{topic}`: records its consumers rejected or could "
            "not process after their retries. Operators inspect and replay them.",
            "messages": {DEAD_LETTER: _ref("components", "messages", DEAD_LETTER)},
        }
        channel_messages = [_ref("channels", topic, "messages", name) for name in messages]
        operations[f"send-{topic}"] = {
            "action": "send",
            "channel": _ref("channels", topic),
            "summary": f"Produced by {', '.join(spec.producers)}.",
            "description": "Services write the event through their transactional outbox, in the "
            "same database transaction as the state change; a relay publishes it.",
            "messages": channel_messages,
        }
        operations[f"receive-{topic}"] = {
            "action": "receive",
            "channel": _ref("channels", topic),
            "summary": f"Consumed by {', '.join(spec.consumers)}.",
            "description": "Each consuming service reads in its own consumer group, processes "
            "idempotently and commits the offset after its database transaction.",
            "messages": channel_messages,
        }
        operations[f"dead-letter-{topic}"] = {
            "action": "send",
            "channel": _ref("channels", dlq),
            "summary": f"Sent by {', '.join(spec.consumers)} for records they cannot process.",
            "messages": [_ref("channels", dlq, "messages", DEAD_LETTER)],
        }
    return channels, operations


def _components() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type, version in REGISTRY:
        envelope, definitions = event_schema_parts(event_type, version, COMPONENT_REF)
        for name, definition in definitions.items():
            if schemas.setdefault(name, definition) != definition:
                raise ValueError(f"two payload models define different schemas named {name}")
        schemas[_message_id(event_type, version)] = envelope
        messages[_message_id(event_type, version)] = _event_message(event_type, version)
    messages[DEAD_LETTER] = _dead_letter_message()
    return {"schemas": dict(sorted(schemas.items())), "messages": messages}


def asyncapi_document(version: str = "1.0.0") -> dict[str, Any]:
    """The whole AsyncAPI document as plain data, in a stable order."""
    channels, operations = _channels_and_operations()
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Customer Value Platform events",
            "version": version,
            "description": _DESCRIPTION,
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "kafka": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The local stack's broker (`make run`); deployments point "
                "KAFKA_BOOTSTRAP_SERVERS at their own cluster.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": _components(),
    }
