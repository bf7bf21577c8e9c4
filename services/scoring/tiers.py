"""Value tiers from a configurable policy, with hysteresis. Pure and vectorised: one entry per customer."""
from __future__ import annotations

import numpy as np

from services.scoring.policy import TierPolicy

# Ranked from least to most valuable; a customer's rank indexes this tuple.
TIERS_BY_RANK = ("low-value", "ordinary", "potential", "high-value")
NO_TIER = -1


def tier_rank(value_percentile: np.ndarray, p_alive: np.ndarray, recency_score: np.ndarray,
              policy: TierPolicy) -> np.ndarray:
    """The tier the numbers point at, with no memory. Unknown P(alive) (no model yet) counts as alive.

    The rules are monotone: more value or a higher P(alive) never gives a lower tier, which is what
    lets `assign_tiers` widen a boundary by a margin.
    """
    value = np.asarray(value_percentile, dtype=float)
    alive = np.nan_to_num(np.asarray(p_alive, dtype=float), nan=1.0)
    recency = np.asarray(recency_score)
    high = (value >= policy.high_value_percentile) & (alive >= policy.high_value_p_alive)
    gone = alive < policy.low_value_p_alive
    potential = (value >= policy.potential_percentile) | (
        (recency >= policy.potential_min_recency_score) & (alive >= policy.potential_p_alive))
    low = value < policy.low_value_percentile
    return np.select([high, gone, potential, low], [3, 0, 2, 0], default=1).astype(np.int8)


def assign_tiers(value_percentile: np.ndarray, p_alive: np.ndarray, recency_score: np.ndarray,
                 previous_rank: np.ndarray, policy: TierPolicy) -> np.ndarray:
    """New tier ranks. A customer with a tier moves up only if the numbers minus the margins still point
    higher, and down only if the numbers plus the margins still point lower; else keeps the tier."""
    value = np.asarray(value_percentile, dtype=float)
    alive = np.asarray(p_alive, dtype=float)
    previous = np.asarray(previous_rank)
    plain = tier_rank(value, alive, recency_score, policy)
    pessimistic = tier_rank(value - policy.percentile_margin, alive - policy.p_alive_margin, recency_score, policy)
    optimistic = tier_rank(value + policy.percentile_margin, alive + policy.p_alive_margin, recency_score, policy)
    held = np.where(pessimistic > previous, pessimistic, np.where(optimistic < previous, optimistic, previous))
    return np.where(previous == NO_TIER, plain, held).astype(np.int8)


def rank_of(tiers: np.ndarray) -> np.ndarray:
    """Tier names (None for no tier yet) to ranks."""
    names = np.asarray(tiers, dtype=object)
    return np.select([names == tier for tier in TIERS_BY_RANK], range(len(TIERS_BY_RANK)),
                     default=NO_TIER).astype(np.int8)
