"""Profile's rules about orders and refunds, free of HTTP and database concerns."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone
from decimal import Decimal
from typing import NamedTuple

from shared.events.catalogue import PurchaseRecordedV1, PurchaseRefundedV1


class OrderKey(NamedTuple):
    """An order is the same order wherever it is reported from: (issuing system, order id). A tuple:
    ingestion hashes thousands of these per batch, and a tuple hashes without running Python code."""

    source: str
    order_id: str


def order_key(purchase: PurchaseRecordedV1 | PurchaseRefundedV1, envelope_source: str) -> OrderKey:
    return OrderKey(purchase.source_system or envelope_source, purchase.order_id)


def unique_orders(purchases: list[tuple[OrderKey, PurchaseRecordedV1]]) -> list[tuple[OrderKey, PurchaseRecordedV1]]:
    """The first report of each order in a batch; later copies are duplicates."""
    first: dict[OrderKey, PurchaseRecordedV1] = {}
    for key, purchase in purchases:
        first.setdefault(key, purchase)
    return list(first.items())


class CustomerErased(Exception):
    """Purchases for an erased customer are refused: erasure must not be undone by new data."""

    def __init__(self, customer_ids: set[str]):
        super().__init__(f"customer(s) erased: {', '.join(sorted(customer_ids))}")
        self.customer_ids = customer_ids


class UnknownOrder(LookupError):
    """A refund names an order profile has never recorded."""

    def __init__(self, position: int, key: OrderKey):
        super().__init__(f"order {key.order_id} from {key.source} is not known")
        self.position = position
        self.key = key


class RefundRefused(ValueError):
    """A refund that contradicts its order: another customer, another currency, or too much money."""

    def __init__(self, position: int, field: str, reason: str):
        super().__init__(reason)
        self.position = position
        self.field = field
        self.reason = reason


def refund_key(refund: PurchaseRefundedV1) -> str:
    """What tells one refund of an order from another: its id, or without one its time and amount."""
    if refund.refund_id:
        return f"id:{refund.refund_id}"
    return f"at:{refund.occurred_at.astimezone(timezone.utc).isoformat()}|{format(refund.amount.normalize(), 'f')}"


@dataclass(frozen=True)
class OrderBalance:
    customer_id: str
    currency: str
    total_amount: Decimal
    refunded: Decimal


def check_refund(position: int, refund: PurchaseRefundedV1, order: OrderBalance) -> None:
    """A refund must name the order's customer and currency and cannot return more than was paid."""
    if refund.customer_id != order.customer_id:
        raise RefundRefused(position, "customer_id", f"order {refund.order_id} belongs to another customer")
    if refund.currency != order.currency:
        raise RefundRefused(position, "currency", f"order {refund.order_id} was paid in {order.currency}")
    left = order.total_amount - order.refunded
    if refund.amount > left:
        raise RefundRefused(position, "amount", f"refund of {refund.amount} exceeds the {left} left to refund on "
                                                f"order {refund.order_id}")
