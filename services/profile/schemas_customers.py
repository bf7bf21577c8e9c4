"""HTTP models of customers: create, update (PATCH), read, the 360 view and the export."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from services.profile import validation
from shared.events.fields import CustomerId, ExternalId, Label, Locale, Name, Timestamp, TimezoneName
from shared.events.vocabulary import Channel, ChurnRisk, ConsentPurpose, Gender, LifecycleStage, Tier

Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(validation.normalise_email)]
Phone = Annotated[str, StringConstraints(max_length=40), AfterValidator(validation.normalise_phone)]
Country = Annotated[str, AfterValidator(validation.normalise_country)]
Timezone = Annotated[TimezoneName, AfterValidator(validation.check_timezone)]
Birthday = Annotated[date, AfterValidator(validation.check_birthday)]
Attributes = Annotated[dict[str, Any], AfterValidator(validation.check_attributes)]
Tags = Annotated[list[Label], Field(max_length=100), AfterValidator(lambda tags: list(dict.fromkeys(tags)))]
Line = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Address(_Strict):
    line1: Line
    line2: Line | None = None
    city: Line
    postal_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    subdivision: Line | None = None
    country: Country


class ExternalIdIn(_Strict):
    """An id another system (loyalty card, e-shop account, POS) knows the customer by."""

    source: Label
    id: ExternalId


class ConsentIn(_Strict):
    channel: Channel
    purpose: ConsentPurpose
    granted: bool
    source: Label = "api"
    """Where the answer was given, e.g. `web-signup`, `store`, `call-center`."""
    occurred_at: Timestamp | None = None
    """When the customer answered; defaults to now."""


class CustomerFields(_Strict):
    """Every field a customer can be given; all optional."""

    given_name: Name | None = None
    family_name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    address: Address | None = None
    region: Label | None = None
    country: Country | None = None
    timezone: Timezone | None = None
    locale: Locale | None = None
    birthday: Birthday | None = None
    gender: Gender | None = None
    tags: Tags | None = None
    attributes: Attributes | None = None
    """Typed custom attributes (text, number, boolean). In PATCH, given keys are set and a null removes one."""
    external_ids: Annotated[list[ExternalIdIn], Field(max_length=50)] | None = None
    consents: Annotated[list[ConsentIn], Field(max_length=50)] | None = None
    """Consent answers; they add to the history, and the latest per channel and purpose counts."""
    do_not_contact: bool | None = None


class CustomerCreate(CustomerFields):
    customer_id: CustomerId


class CustomerUpdate(CustomerFields):
    """Only the fields sent change; `null` clears a field."""


class ConsentRead(BaseModel):
    channel: str
    purpose: str
    granted: bool
    source: str
    occurred_at: datetime


class CustomerRead(BaseModel):
    customer_id: str
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: dict[str, Any] | None = None
    region: str | None
    country: str | None
    timezone: str | None
    locale: str | None
    birthday: date | None
    gender: str | None
    tags: list[str]
    attributes: dict[str, Any]
    external_ids: list[ExternalIdIn]
    consents: list[ConsentRead]
    do_not_contact: bool
    created_at: datetime
    updated_at: datetime


class PurchaseSummary(BaseModel):
    orders: int
    net_spend: Decimal
    refunded: Decimal
    average_order_value: Decimal | None
    first_purchase_at: datetime | None
    last_purchase_at: datetime | None
    favourite_categories: list[str]
    channels: list[str]


class Scores(BaseModel):
    tier: Tier | None = None
    lifecycle_stage: LifecycleStage | None = None
    clv: Decimal | None = None
    clv_currency: str | None = None
    churn_risk: ChurnRisk | None = None
    p_alive: float | None = None
    nps: int | None = None
    csat: int | None = None


class Customer360(CustomerRead):
    summary: PurchaseSummary
    scores: Scores


class MergeRequest(_Strict):
    merged_customer_id: CustomerId
    """The duplicate to fold into this customer; it stops existing as a separate profile."""


class DuplicateRead(BaseModel):
    customer_id: str
    matched_on: list[str]


MAX_CONTACT_LOOKUP = 1000


class ContactLookup(_Strict):
    customer_ids: Annotated[list[CustomerId], Field(min_length=1, max_length=MAX_CONTACT_LOOKUP)]


class ContactRead(BaseModel):
    """What a channel needs to reach the customer, and the names a message may greet them by."""

    customer_id: str
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    phone: str | None = None
    do_not_contact: bool


class ContactsRead(BaseModel):
    contacts: list[ContactRead]
    missing: list[str] = Field(description="Ids asked for that name no reachable customer: unknown, erased or merged")
