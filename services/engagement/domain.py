"""Engagement's loyalty rules."""
from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal


def points_for_purchase(total_amount: Decimal, points_per_unit: Decimal) -> int:
    """Points are earned on whole currency units spent, rounded down."""
    return int((total_amount * points_per_unit).to_integral_value(rounding=ROUND_FLOOR))
