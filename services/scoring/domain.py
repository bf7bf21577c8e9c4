"""Scoring's rules for accepting an order (or refund) into the per-customer aggregates."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

EPOCH = date(1970, 1, 1)


class UnknownCurrency(ValueError):
    pass


class Unacceptable(ValueError):
    """An order or refund that can never be counted; the reason goes to the dead-letter headers."""


def to_base_currency(amount: Decimal, currency: str, rates: dict[str, Decimal]) -> Decimal:
    """Convert with the configured rates; an unconfigured currency cannot be counted."""
    rate = rates.get(currency)
    if rate is None:
        raise UnknownCurrency(f"no exchange rate configured for currency {currency}")
    return amount * rate


def day_number(moment: datetime) -> int:
    """Days since 1970-01-01 of the UTC calendar day: repeat purchases are counted per purchase day."""
    return (moment.astimezone(timezone.utc).date() - EPOCH).days


def day_of(number: int) -> date:
    return EPOCH + timedelta(days=number)


def checked_time(occurred_at: datetime, now: datetime, tolerance: timedelta) -> datetime:
    """A time slightly ahead of our clock (a till's skewed clock) is taken as now; one further ahead
    is refused, since it would make the customer look active in the future."""
    if occurred_at <= now:
        return occurred_at
    if occurred_at - now <= tolerance:
        return now
    raise Unacceptable(f"occurred_at {occurred_at.isoformat()} is in the future "
                       f"(more than {int(tolerance.total_seconds())} s ahead of the scoring clock)")


@dataclass(frozen=True)
class AcceptedAmount:
    amount: Decimal
    occurred_at: datetime


def accept(amount: Decimal, currency: str, occurred_at: datetime, *, rates: dict[str, Decimal], now: datetime,
           tolerance: timedelta) -> AcceptedAmount:
    """An order or refund's amount in the base currency and its (clamped) time, or `Unacceptable`.

    Negative and non-numeric amounts never get here: the event schema rejects them and the consumer
    dead-letters the record; this re-checks so the rule holds for any caller.
    """
    if not amount.is_finite() or amount < 0:
        raise Unacceptable(f"amount {amount} is not a non-negative number")
    try:
        converted = to_base_currency(amount, currency, rates)
    except UnknownCurrency as exc:
        raise Unacceptable(str(exc)) from exc
    return AcceptedAmount(converted, checked_time(occurred_at, now, tolerance))
