"""Engagement's loyalty rules."""
from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal


def points_for_purchase(total_amount: Decimal, points_per_unit: Decimal) -> int:
    """Points are earned on whole currency units spent, rounded down."""
    return int((total_amount * points_per_unit).to_integral_value(rounding=ROUND_FLOOR))


#: Loyalty levels by points earned in the last 365 days, lowest first.
LEVELS: tuple[tuple[str, int], ...] = (("bronze", 0), ("silver", 1_000), ("gold", 5_000), ("platinum", 20_000))


def level_for(points_earned_last_year: int, levels: tuple[tuple[str, int], ...] = LEVELS) -> str:
    """The highest level whose threshold the customer's recent earning reaches."""
    reached = [name for name, threshold in levels if points_earned_last_year >= threshold]
    return reached[-1] if reached else levels[0][0]


def points_to_expire(earned_before_cutoff: int, used_or_expired: int) -> int:
    """Points expire first-in first-out: what was earned before the cutoff and not yet redeemed or expired."""
    return max(0, earned_before_cutoff - used_or_expired)
