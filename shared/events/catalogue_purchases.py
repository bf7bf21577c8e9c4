"""Purchase events, from external systems (e-commerce, POS, ERP) and profile's HTTP gateway."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.events.envelope import EventData, PayloadPart
from shared.events.fields import (
    Currency,
    CustomerId,
    ExternalId,
    Label,
    Money,
    Name,
    Reason,
    Timestamp,
)


class PurchaseItemV1(PayloadPart):
    """One order line. Line totals need not add up to the order total: discounts exist."""

    sku: ExternalId
    """The product's stock-keeping unit in the source system."""
    name: Name | None = None
    """Product name as shown to the customer."""
    category: Label | None = None
    """Product category, used for recommendations and category affinity."""
    quantity: int = Field(gt=0, le=1_000_000, strict=True)
    """Units bought; a positive integer."""
    unit_price: Money
    """Price of one unit before order-level discounts, in the order's currency."""


class PurchaseRecordedV1(EventData):
    """A completed order. Natural key: (source_system or envelope source, order_id)."""

    event_type: ClassVar[str] = "purchase-recorded"
    dataversion: ClassVar[int] = 1

    order_id: ExternalId
    """The order's id in the system that issued it."""
    customer_id: CustomerId
    """The buying customer; an unknown id creates a `prospect` profile first."""
    occurred_at: Timestamp
    """When the order was placed (not when it was sent)."""
    total_amount: Money
    """What the customer paid for the order, after discounts."""
    currency: Currency
    """ISO 4217 code of every amount in this event."""
    items: list[PurchaseItemV1] = Field(default_factory=list, max_length=1000)
    """Order lines; may be empty when the source only reports totals."""
    channel: Label | None = None
    """Sales channel as the source names it, e.g. `web`, `app`, `store`, `marketplace`."""
    store_id: ExternalId | None = None
    """Store or point of sale, for in-store purchases."""
    source_system: Label | None = None
    """System that issued `order_id` when it is not the envelope source (e.g. a POS posting through
    profile's HTTP gateway); the idempotency key then uses it instead of the envelope source."""


class PurchaseRefundedV1(EventData):
    """Money returned on an earlier order; several partial refunds per order are possible."""

    event_type: ClassVar[str] = "purchase-refunded"
    dataversion: ClassVar[int] = 1

    order_id: ExternalId
    """The refunded order, as in its purchase-recorded event."""
    customer_id: CustomerId
    """The customer who bought the order."""
    occurred_at: Timestamp
    """When the refund was made."""
    amount: Money
    """Amount refunded by this refund alone."""
    currency: Currency
    """ISO 4217 code of `amount`."""
    reason: Reason | None = None
    """Why the customer was refunded, as the source reports it."""
    refund_id: ExternalId | None = None
    """The refund's own id, which tells partial refunds apart; without it, consumers key the refund
    by (order_id, occurred_at, amount)."""
    source_system: Label | None = None
    """System that issued `order_id` when it is not the envelope source."""
