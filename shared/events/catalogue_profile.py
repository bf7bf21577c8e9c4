"""Events profile publishes about customers, their interactions and their segments."""
from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints, model_validator

from shared.events.envelope import EventData, PayloadPart
from shared.events.fields import (
    CustomerId,
    ExternalId,
    Label,
    LongText,
    Locale,
    MonthDay,
    Name,
    Timestamp,
    TimezoneName,
)
from shared.events.vocabulary import (
    Channel,
    ConsentPurpose,
    Gender,
    InteractionChannel,
    InteractionKind,
    SegmentChange,
)

PropertyValue = LongText | int | float | bool | None
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class ConsentV1(PayloadPart):
    """Whether the customer may be contacted on a channel for a purpose."""

    channel: Channel
    purpose: ConsentPurpose
    granted: bool


class CustomerSnapshotV1(EventData):
    """The attributes other services may hold about a customer. Personal data (name, e-mail, phone,
    address) stays in profile; engagement fetches contact addresses over HTTP at send time."""

    customer_id: CustomerId
    region: Label | None = None
    """Sales region or country/subdivision code, as the business uses it."""
    timezone: TimezoneName | None = None
    """IANA time zone, e.g. `Europe/Paris`; used for quiet hours and send times."""
    locale: Locale | None = None
    """BCP 47 language tag, e.g. `fr-FR`; used to pick templates and surveys."""
    birthday: MonthDay | None = None
    """Month and day only (`MM-DD`), e.g. `02-29`; no birth year leaves profile."""
    gender: Gender | None = None
    """Null when nobody recorded it; `undisclosed` when the customer declined to say."""
    consents: list[ConsentV1] = Field(default_factory=list, max_length=50)
    """Every recorded consent; a channel/purpose absent here has not been granted."""
    tags: list[Label] = Field(default_factory=list, max_length=100)
    """Free labels set by the business, e.g. `vip`, `staff`."""
    country: CountryCode | None = None
    """ISO 3166-1 alpha-2 country code, e.g. `FR`."""
    do_not_contact: bool | None = None
    """True when the customer must not be contacted at all, whatever the consents say; null from
    producers that predate the field."""


class CustomerRegisteredV1(CustomerSnapshotV1):
    """A profile was created, by registration or by the first event that named the customer."""

    event_type: ClassVar[str] = "customer-registered"
    dataversion: ClassVar[int] = 1


class CustomerUpdatedV1(CustomerSnapshotV1):
    """Shareable attributes changed; carries the whole new state, so consumers overwrite theirs."""

    event_type: ClassVar[str] = "customer-updated"
    dataversion: ClassVar[int] = 1

    changed_fields: list[Label] = Field(default_factory=list, max_length=50)
    """Names of the attributes that changed, when known."""


class CustomerMergedV1(EventData):
    """Two profiles were found to be one customer; the merged id now means the surviving one.
    Consumers move what they hold for the merged id onto the surviving id."""

    event_type: ClassVar[str] = "customer-merged"
    dataversion: ClassVar[int] = 1

    surviving_customer_id: CustomerId
    """The customer that remains."""
    merged_customer_id: CustomerId
    """The customer folded into the surviving one; it is no longer used."""

    @model_validator(mode="after")
    def _ids_differ(self) -> CustomerMergedV1:
        if self.surviving_customer_id == self.merged_customer_id:
            raise ValueError("surviving_customer_id and merged_customer_id must differ")
        return self

    def subject(self) -> str:
        return self.surviving_customer_id


class CustomerErasedV1(EventData):
    """The customer asked to be forgotten: every service purges what it holds on receipt."""

    event_type: ClassVar[str] = "customer-erased"
    dataversion: ClassVar[int] = 1

    customer_id: CustomerId


class InteractionRecordedV1(EventData):
    """Something the customer did short of buying. Natural key: interaction_id."""

    event_type: ClassVar[str] = "interaction-recorded"
    dataversion: ClassVar[int] = 1

    interaction_id: ExternalId
    """Profile's id for the interaction, unique across customers."""
    customer_id: CustomerId
    kind: InteractionKind
    channel: InteractionChannel | None = None
    """Where it happened; outreach channels plus `web`, `store`, `social`, `other`."""
    occurred_at: Timestamp
    properties: dict[Label, PropertyValue] = Field(default_factory=dict, max_length=50)
    """Flat details, e.g. `{"sku": "SKU-1", "url": "https://..."}`; values are scalars."""


class SegmentMembershipChangedV1(EventData):
    """The customer entered or left a segment. Natural key: (segment_id, customer_id, at)."""

    event_type: ClassVar[str] = "segment-membership-changed"
    dataversion: ClassVar[int] = 1

    segment_id: ExternalId
    segment_name: Name | None = None
    customer_id: CustomerId
    change: SegmentChange
    at: Timestamp
    """When membership changed."""
