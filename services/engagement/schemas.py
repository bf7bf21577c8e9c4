"""Engagement's HTTP models."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from typing_extensions import Annotated

from services.engagement.policy import Priority
from shared.events.fields import CustomerId, ExternalId, Locale
from shared.events.vocabulary import Channel

TemplateText = Annotated[str, StringConstraints(max_length=20_000)]


class PointsEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    points: int
    reason: str
    reference: str
    occurred_at: datetime


class LoyaltyRead(BaseModel):
    customer_id: str
    balance: int
    level: str
    """bronze, silver, gold or platinum, by points earned in the last 365 days."""
    earned_last_year: int
    recent: list[PointsEntryRead]


class RedemptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: int = Field(ge=1, le=10_000_000)
    reference: ExternalId
    """Your id for the redemption (e.g. the order); the same reference redeems once."""


class RedemptionRead(BaseModel):
    customer_id: str
    points: int
    reference: str
    balance: int


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: ExternalId | None = None
    """Your id for the message (natural key); generated when absent."""
    customer_id: CustomerId
    channel: Channel | Literal["preferred"] = "preferred"
    priority: Priority = "promotion"
    template_id: ExternalId | None = None
    subject: TemplateText | None = None
    body: TemplateText | None = None
    """Jinja2 text, used when no template_id is given."""
    variables: dict[str, Any] = Field(default_factory=dict, max_length=50)
    """Extra template variables, e.g. `coupon_code`, `recommended_products`."""
    send_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None
    campaign_id: ExternalId | None = None
    journey_id: ExternalId | None = None

    @model_validator(mode="after")
    def _template_or_body(self) -> MessageCreate:
        if (self.template_id is None) == (self.body is None):
            raise ValueError("give exactly one of template_id and body")
        return self


class MessageLogRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    kind: str
    reason: str | None


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    message_id: str
    customer_id: str
    requested_channel: str
    channel: str | None
    priority: str
    template_id: str | None
    campaign_id: str | None
    journey_id: str | None
    invitation_id: str | None
    status: str
    reason: str | None
    due_at: datetime
    expires_at: datetime | None
    attempts: int
    delivery_status: str | None
    created_at: datetime
    sent_at: datetime | None
    log: list[MessageLogRead] = Field(default_factory=list)


class DeliveryReport(BaseModel):
    """A provider's report about a message it was handed."""

    model_config = ConfigDict(extra="forbid")

    message_id: ExternalId
    status: Literal["delivered", "bounced", "opened", "clicked"]
    occurred_at: AwareDatetime | None = None
    detail: Annotated[str, StringConstraints(max_length=500)] | None = None


class TemplateVariant(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)

    locale: Locale
    subject: TemplateText | None = None
    body: TemplateText


class TemplateWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_locale: Locale
    variants: list[TemplateVariant] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _default_is_a_variant(self) -> TemplateWrite:
        locales = [v.locale for v in self.variants]
        if self.default_locale not in locales:
            raise ValueError("default_locale must be one of the variants' locales")
        if len(set(locales)) != len(locales):
            raise ValueError("each locale may have one variant")
        return self


class TemplateCreate(TemplateWrite):
    template_id: ExternalId


class TemplateRead(TemplateWrite):
    template_id: str


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: CustomerId
    locale: Locale | None = None
    """Overrides the customer's locale."""
    variables: dict[str, Any] = Field(default_factory=dict, max_length=50)


class PreviewRead(BaseModel):
    template_id: str
    locale: str
    subject: str | None
    body: str


class AudienceRead(BaseModel):
    """Engagement's view of a customer: the projection and recent contacts."""

    customer_id: str
    timezone: str | None
    locale: str | None
    birthday: str | None
    do_not_contact: bool
    consents: list[str]
    tier: str | None
    lifecycle_stage: str | None
    churn_risk: str | None
    segments: list[str]
    recent_contacts: list[dict[str, Any]]


class Recommendation(BaseModel):
    sku: str
    name: str | None
    category: str | None
    score: float
    reason: str
    """`bought_together`, or `category:<name>` for a favourite of a category the customer buys."""


class RecommendationsRead(BaseModel):
    customer_id: str
    items: list[Recommendation]
