from decimal import Decimal

from services.engagement.domain import points_for_purchase


def test_points_are_earned_on_whole_currency_units_rounded_down() -> None:
    assert points_for_purchase(Decimal("19.99"), Decimal(1)) == 19
    assert points_for_purchase(Decimal("19.99"), Decimal("2.5")) == 49
    assert points_for_purchase(Decimal("0.99"), Decimal(1)) == 0


def test_the_level_is_the_highest_threshold_reached_by_last_years_earning() -> None:
    from services.engagement.domain import level_for
    assert [level_for(p) for p in (0, 999, 1000, 5000, 19_999, 20_000)] == [
        "bronze", "bronze", "silver", "gold", "gold", "platinum"]


def test_points_expire_first_in_first_out() -> None:
    from services.engagement.domain import points_to_expire
    assert points_to_expire(earned_before_cutoff=100, used_or_expired=30) == 70
    assert points_to_expire(earned_before_cutoff=100, used_or_expired=150) == 0  # spent from newer points too
