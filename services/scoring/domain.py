"""Scoring's rules for turning orders into per-customer aggregates."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


class UnknownCurrency(ValueError):
    pass


def to_base_currency(amount: Decimal, currency: str, rates: dict[str, Decimal]) -> Decimal:
    """Convert with the configured rates; an unconfigured currency cannot be counted."""
    rate = rates.get(currency)
    if rate is None:
        raise UnknownCurrency(f"no exchange rate configured for currency {currency}")
    return amount * rate


@dataclass
class AggregateDelta:
    """What a batch of new orders adds to one customer's aggregate."""

    purchase_count: int
    spend: Decimal
    first_purchase_at: datetime
    last_purchase_at: datetime

    def add(self, spend: Decimal, occurred_at: datetime) -> None:
        self.purchase_count += 1
        self.spend += spend
        self.first_purchase_at = min(self.first_purchase_at, occurred_at)
        self.last_purchase_at = max(self.last_purchase_at, occurred_at)
