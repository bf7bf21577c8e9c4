"""The CloudEvents 1.0 envelope (structured JSON mode) and the base of every payload model."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.events.errors import UndecodableEvent, describe_validation_error
from shared.events.fields import CustomerId, Timestamp

CONTENT_TYPE = "application/cloudevents+json"
DATA_CONTENT_TYPE = "application/json"


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 envelope whose `data` is a JSON object and whose subject is a customer."""

    # CloudEvents lets producers add extension attributes (traceparent, partitionkey, ...); they are
    # kept so that a consumer relaying an event does not strip them.
    model_config = ConfigDict(extra="allow", frozen=True, use_attribute_docstrings=True)

    specversion: Literal["1.0"]
    """CloudEvents specification version."""
    id: str = Field(min_length=1, max_length=256)
    """Unique per source; consumers use (source, id) to drop redelivered events."""
    source: str = Field(min_length=1, max_length=512, pattern=r"^\S+$")
    """URI-reference of the producer, e.g. `/services/profile`, or the external system's name."""
    type: str = Field(min_length=1, max_length=128, pattern=r"^\S+$")
    """Event type; also the Kafka topic name."""
    time: Timestamp
    """When the occurrence happened (RFC 3339 with offset)."""
    subject: CustomerId
    """The customer_id the event is about; also the Kafka record key."""
    datacontenttype: str = Field(
        default=DATA_CONTENT_TYPE, pattern=r"^application/([\w.-]+\+)?json(\s*;.*)?$"
    )
    """Media type of `data`; always JSON here."""
    dataversion: int = Field(ge=1, strict=True)
    """Version of the payload schema for this type (extension attribute)."""
    correlationid: str | None = Field(default=None, min_length=1, max_length=256)
    """Id shared by the request and every event it caused (extension attribute)."""
    data: dict[str, Any]
    """The payload, described by the model registered for (type, dataversion)."""

    @field_validator("specversion", mode="before")
    @classmethod
    def _specversion_is_a_string(cls, value: object) -> object:
        # A JSON number 1.0 is not the string "1.0" the spec requires; say so plainly.
        if not isinstance(value, str):
            raise ValueError("must be the string '1.0'")
        return value


class PayloadPart(BaseModel):
    """Base of payloads and their nested values: immutable, tolerant of fields added later."""

    # Additive changes keep the dataversion, so a consumer must accept fields it does not know yet.
    model_config = ConfigDict(extra="ignore", frozen=True, use_attribute_docstrings=True)


class EventData(PayloadPart):
    """Base of every event payload model; each subclass is one (event_type, dataversion)."""

    event_type: ClassVar[str]
    dataversion: ClassVar[int]

    def subject(self) -> str:
        """The customer the event is keyed by: the envelope subject and the Kafka record key."""
        customer_id = getattr(self, "customer_id", None)
        if not isinstance(customer_id, str):
            raise TypeError(f"{type(self).__name__} has no customer_id; it must override subject()")
        return customer_id


def new_event(
    data: EventData,
    *,
    source: str,
    correlation_id: str | None = None,
    event_id: str | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    """Wrap a payload in an envelope; type, dataversion and subject come from the payload."""
    return CloudEvent(
        specversion="1.0",
        id=event_id if event_id is not None else str(uuid.uuid4()),
        source=source,
        type=data.event_type,
        time=time if time is not None else datetime.now(UTC),
        subject=data.subject(),
        dataversion=data.dataversion,
        correlationid=correlation_id,
        data=data.model_dump(mode="json"),
    )


def encode(event: CloudEvent) -> bytes:
    """Compact UTF-8 JSON in CloudEvents structured mode; an absent correlationid is left out."""
    exclude = {"correlationid"} if event.correlationid is None else None
    return event.model_dump_json(exclude=exclude).encode("utf-8")


def decode_envelope(raw: bytes) -> CloudEvent:
    """Parse and validate the envelope only; raises UndecodableEvent. `data` stays a plain dict."""
    if not raw:
        raise UndecodableEvent("empty record value")
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UndecodableEvent(f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        return CloudEvent.model_validate_json(text)
    except ValidationError as exc:
        kinds = {detail["type"] for detail in exc.errors()}
        if "json_invalid" in kinds:
            raise UndecodableEvent(f"not JSON: {exc.errors()[0]['msg']}") from None
        raise UndecodableEvent(f"invalid envelope: {describe_validation_error(exc)}") from None
