from decimal import Decimal

from services.engagement.domain import points_for_purchase


def test_points_are_earned_on_whole_currency_units_rounded_down() -> None:
    assert points_for_purchase(Decimal("19.99"), Decimal(1)) == 19
    assert points_for_purchase(Decimal("19.99"), Decimal("2.5")) == 49
    assert points_for_purchase(Decimal("0.99"), Decimal(1)) == 0
