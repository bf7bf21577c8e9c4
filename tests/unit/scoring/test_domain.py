"""Accepting orders and refunds: currencies, amounts, timestamps, purchase days."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest

from services.scoring.domain import Unacceptable, accept, day_number
from services.scoring.lifetime_value import History

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
RATES = {"USD": Decimal(1), "EUR": Decimal("1.10")}


def accepted(amount: str = "10", currency: str = "USD", at: datetime = NOW - timedelta(days=1)):  # type: ignore[no-untyped-def]
    return accept(Decimal(amount), currency, at, rates=RATES, now=NOW, tolerance=timedelta(hours=1))


def test_amounts_are_converted_to_the_base_currency() -> None:
    assert accepted("100", "EUR").amount == Decimal("110.00")


def test_an_unconfigured_currency_is_refused_with_the_reason() -> None:
    with pytest.raises(Unacceptable, match="no exchange rate configured for currency XAU"):
        accepted(currency="XAU")


@pytest.mark.parametrize("amount", ["-5", "NaN", "Infinity"])
def test_negative_or_non_numeric_amounts_are_refused(amount: str) -> None:
    with pytest.raises(Unacceptable, match="not a non-negative number"):
        accepted(amount)


def test_a_time_slightly_in_the_future_is_clamped_to_now() -> None:
    assert accepted(at=NOW + timedelta(minutes=10)).occurred_at == NOW


def test_a_time_far_in_the_future_is_refused() -> None:
    with pytest.raises(Unacceptable, match="in the future"):
        accepted(at=NOW + timedelta(days=2))


def test_purchase_days_are_utc_calendar_days() -> None:
    late_evening_in_new_york = datetime(2026, 1, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert day_number(late_evening_in_new_york) == day_number(datetime(2026, 1, 2, 4, 30, tzinfo=timezone.utc))


def test_frequency_counts_repeat_purchase_days_and_recency_spans_first_to_last_day() -> None:
    # Three purchase days (two on day 10 count once): x = 2, t_x = 30 - 10, T = 40 - 10.
    history = History(np.array([3, 1]), np.array([10.0, 35.0]), np.array([30.0, 35.0]), np.array([90.0, 20.0]))
    frequency, recency, age, average = history.rfm(40, "day")
    assert frequency.tolist() == [2.0, 0.0]
    assert recency.tolist() == [20.0, 0.0]
    assert age.tolist() == [30.0, 5.0]
    assert average.tolist() == [30.0, 20.0]


def test_weeks_divide_the_day_spans_by_seven() -> None:
    history = History(np.array([2]), np.array([0.0]), np.array([14.0]), np.array([10.0]))
    _, recency, age, _ = history.rfm(28, "week")
    assert (recency[0], age[0]) == (2.0, 4.0)
