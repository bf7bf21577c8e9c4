"""Profile's HTTP models."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.catalogue_purchases import PurchaseItemV1
from shared.events.fields import Currency, CustomerId, ExternalId, Label, Locale, Money, Timestamp, TimezoneName


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


class CustomerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: CustomerId
    region: Label | None = None
    timezone: TimezoneName | None = None
    locale: Locale | None = None


class PurchaseSummary(BaseModel):
    orders: int
    net_spend: Decimal
    first_purchase_at: datetime | None
    last_purchase_at: datetime | None


class CustomerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    customer_id: str
    region: str | None
    timezone: str | None
    locale: str | None
    created_at: datetime
    updated_at: datetime


class Customer360(CustomerRead):
    summary: PurchaseSummary
