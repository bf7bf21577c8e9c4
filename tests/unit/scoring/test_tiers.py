"""Tier policy: value percentile, RFM and P(alive), with hysteresis at the boundaries."""
from __future__ import annotations

import numpy as np

from services.scoring.policy import TierPolicy
from services.scoring.tiers import NO_TIER, TIERS_BY_RANK, assign_tiers, rank_of, tier_rank

POLICY = TierPolicy()


def names(ranks: np.ndarray) -> list[str]:
    return [TIERS_BY_RANK[r] for r in ranks]


def first(value: float, p_alive: float = 0.9, r: int = 3) -> str:
    return names(assign_tiers(np.array([value]), np.array([p_alive]), np.array([r]), np.array([NO_TIER]), POLICY))[0]


def again(previous: str, value: float, p_alive: float = 0.9, r: int = 3) -> str:
    return names(assign_tiers(np.array([value]), np.array([p_alive]), np.array([r]), rank_of(np.array([previous])),
                              POLICY))[0]


def test_top_value_customers_likely_alive_are_high_value() -> None:
    assert first(0.95) == "high-value"


def test_a_top_value_customer_unlikely_alive_is_not_high_value() -> None:
    assert first(0.95, p_alive=0.3) == "potential"
    assert first(0.95, p_alive=0.1) == "low-value"


def test_recent_customers_likely_alive_have_potential() -> None:
    assert first(0.40, r=5) == "potential"
    assert first(0.40, r=2) == "ordinary"


def test_the_bottom_of_the_value_distribution_is_low_value() -> None:
    assert first(0.10) == "low-value"


def test_without_a_model_p_alive_is_not_held_against_the_customer() -> None:
    assert first(0.95, p_alive=float("nan")) == "high-value"


def test_a_customer_just_across_a_boundary_does_not_move_up() -> None:
    assert again("potential", 0.82) == "potential"
    assert again("potential", 0.86) == "high-value"


def test_a_customer_just_below_a_boundary_keeps_the_higher_tier() -> None:
    assert again("high-value", 0.78) == "high-value"
    assert again("high-value", 0.74) == "potential"


def test_a_customer_near_a_boundary_does_not_flip_back_and_forth() -> None:
    tier = "ordinary"
    seen = []
    for value in [0.81, 0.79, 0.81, 0.79, 0.81]:
        tier = again(tier, value)
        seen.append(tier)
    assert seen == ["potential"] * 5


def test_a_large_drop_moves_a_customer_down_several_tiers_at_once() -> None:
    assert again("high-value", 0.05) == "low-value"


def test_tier_rules_are_monotone_in_value_and_p_alive() -> None:
    values = np.linspace(0, 1, 101)
    for alive in (0.1, 0.5, 0.9):
        ranks = tier_rank(values, np.full(101, alive), np.full(101, 3), POLICY)
        assert np.all(np.diff(ranks) >= 0)


def test_the_policy_thresholds_are_configurable() -> None:
    strict = TierPolicy(high_value_percentile=0.97, potential_percentile=0.9)
    assert names(tier_rank(np.array([0.95]), np.array([0.9]), np.array([3]), strict)) == ["potential"]


def test_a_new_customer_with_little_spend_yet_has_potential() -> None:
    assert first(0.05, p_alive=0.9, r=5) == "potential"
    assert first(0.05, p_alive=0.5, r=5) == "low-value"
