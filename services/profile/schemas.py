"""Profile's HTTP models of orders, refunds and interactions (customers: schemas_customers)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.profile.schemas_customers import CustomerCreate, CustomerRead, CustomerUpdate  # noqa: F401 (re-export)
from shared.events.catalogue_profile import PropertyValue
from shared.events.catalogue_purchases import PurchaseItemV1
from shared.events.fields import Currency, CustomerId, ExternalId, Label, Money, Reason, Timestamp
from shared.events.vocabulary import InteractionChannel, InteractionKind


class PurchaseCreate(BaseModel):
    """A completed order reported by an e-commerce, POS or ERP system."""

    model_config = ConfigDict(extra="forbid")

    source: Label = "api"
    """The system that issued `order_id`; (source, order_id) identifies the order everywhere."""
    order_id: ExternalId
    customer_id: CustomerId
    occurred_at: Timestamp
    total_amount: Money
    currency: Currency
    items: list[PurchaseItemV1] = Field(default_factory=list, max_length=1000)
    channel: Label | None = None
    store_id: ExternalId | None = None


class PurchaseResult(BaseModel):
    source: str
    order_id: str
    customer_id: str
    status: Literal["recorded", "duplicate"]


class PurchaseBatchResult(BaseModel):
    recorded: int
    duplicates: int
    results: list[PurchaseResult]


class PurchaseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    source: str
    order_id: str
    customer_id: str
    occurred_at: datetime
    total_amount: Decimal
    currency: str
    channel: str | None
    store_id: str | None


class RefundCreate(BaseModel):
    """Money returned on an order recorded earlier."""

    model_config = ConfigDict(extra="forbid")

    source: Label = "api"
    """The system that issued `order_id`, as given when the order was recorded."""
    order_id: ExternalId
    customer_id: CustomerId
    occurred_at: Timestamp
    amount: Money
    currency: Currency
    reason: Reason | None = None
    refund_id: ExternalId | None = None
    """The refund's own id, telling partial refunds apart; the same refund sent twice counts once."""


class RefundResult(BaseModel):
    source: str
    order_id: str
    status: Literal["recorded", "duplicate"]


class InteractionCreate(BaseModel):
    """Something the customer did short of buying."""

    model_config = ConfigDict(extra="forbid")

    interaction_id: ExternalId | None = None
    """The caller's id for the interaction; sending the same id again records it once. Generated when absent."""
    customer_id: CustomerId
    kind: InteractionKind
    channel: InteractionChannel | None = None
    occurred_at: Timestamp
    properties: dict[Label, PropertyValue] = Field(default_factory=dict, max_length=50)


class InteractionResult(BaseModel):
    interaction_id: str
    customer_id: str
    status: Literal["recorded", "duplicate"]
