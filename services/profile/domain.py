"""Profile's rules about orders, free of HTTP and database concerns."""
from __future__ import annotations

from dataclasses import dataclass

from shared.events.catalogue import PurchaseRecordedV1


@dataclass(frozen=True)
class OrderKey:
    """An order is the same order wherever it is reported from: (issuing system, order id)."""

    source: str
    order_id: str


def order_key(purchase: PurchaseRecordedV1, envelope_source: str) -> OrderKey:
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
