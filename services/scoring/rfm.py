"""RFM: recency, frequency and monetary scores from population quantiles, and the named segments.

Every function works on whole arrays (one entry per customer). Frequency counts purchase days, monetary
is the average net spend per purchase day, recency the days since the last purchase.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEGMENTS = ("champions", "loyal", "potential-loyalists", "new", "promising", "need-attention",
            "about-to-sleep", "at-risk", "cant-lose", "hibernating", "lost")

# Segment by (R, F) on the 1-5 scale, the usual RFM grid: rows R = 1..5, columns F = 1..5.
_GRID = np.array([
    ["lost", "hibernating", "at-risk", "at-risk", "cant-lose"],
    ["hibernating", "hibernating", "at-risk", "at-risk", "cant-lose"],
    ["about-to-sleep", "about-to-sleep", "need-attention", "loyal", "loyal"],
    ["promising", "potential-loyalists", "potential-loyalists", "loyal", "loyal"],
    ["new", "potential-loyalists", "potential-loyalists", "champions", "champions"],
], dtype=object)

PERCENTILE_EDGES = np.arange(1, 100) / 100


@dataclass(frozen=True)
class CutPoints:
    """Where the population splits into bins, kept so that each new purchase is scored at once."""

    bins: int
    recency: tuple[float, ...]
    frequency: tuple[float, ...]
    monetary: tuple[float, ...]
    #: Percentiles 1..99 of total net spend and (once a model is fitted) of CLV: the value percentile.
    spend: tuple[float, ...]
    clv: tuple[float, ...] | None
    customers: int


def quantile_edges(values: np.ndarray, bins: int) -> tuple[float, ...]:
    """The bins-1 inner cut points that split `values` into equally populated bins."""
    return tuple(float(v) for v in np.quantile(values, np.arange(1, bins) / bins))


def cut_points(recency_days: np.ndarray, purchase_days: np.ndarray, average_spend: np.ndarray,
               total_spend: np.ndarray, clv: np.ndarray | None, bins: int) -> CutPoints:
    """Cut points of the customers who bought at least once; needs one customer or more."""
    if len(recency_days) == 0:
        raise ValueError("no customer with a purchase: there is nothing to cut")
    percentiles = tuple(float(v) for v in np.quantile(total_spend, PERCENTILE_EDGES))
    clv_percentiles = None
    if clv is not None and len(clv) and np.all(np.isfinite(clv)):
        clv_percentiles = tuple(float(v) for v in np.quantile(clv, PERCENTILE_EDGES))
    return CutPoints(bins=bins, recency=quantile_edges(recency_days, bins),
                     frequency=quantile_edges(purchase_days, bins), monetary=quantile_edges(average_spend, bins),
                     spend=percentiles, clv=clv_percentiles, customers=len(recency_days))


def score(values: np.ndarray, edges: tuple[float, ...], *, higher_is_better: bool = True) -> np.ndarray:
    """Scores 1..len(edges)+1; a value tied with a cut point takes the lower score."""
    cuts = np.asarray(edges, dtype=float)
    values = np.asarray(values, dtype=float)
    if higher_is_better:
        return (1 + np.searchsorted(cuts, values, side="left")).astype(np.int8)
    return (1 + len(cuts) - np.searchsorted(cuts, values, side="right")).astype(np.int8)


def percentile(values: np.ndarray, percentile_edges: tuple[float, ...]) -> np.ndarray:
    """Share of the population at or below each value (0..0.99), from the stored percentiles."""
    return np.searchsorted(np.asarray(percentile_edges), np.asarray(values, dtype=float), side="right") / 100


def on_five_point_scale(scores: np.ndarray, bins: int) -> np.ndarray:
    return (1 + np.rint((np.asarray(scores) - 1) * 4 / (bins - 1))).astype(np.int8)


def segments(r: np.ndarray, f: np.ndarray, bins: int) -> np.ndarray:
    """The named segment of each customer from its R and F scores."""
    return _GRID[on_five_point_scale(r, bins) - 1, on_five_point_scale(f, bins) - 1]


def rfm_scores(recency_days: np.ndarray, purchase_days: np.ndarray, average_spend: np.ndarray,
               cuts: CutPoints) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (score(recency_days, cuts.recency, higher_is_better=False), score(purchase_days, cuts.frequency),
            score(average_spend, cuts.monetary))
