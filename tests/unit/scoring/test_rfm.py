"""RFM binning from population quantiles and the named segments."""
from __future__ import annotations

import numpy as np

from services.scoring import rfm


def test_quintile_cut_points_split_a_uniform_population_into_equal_bins() -> None:
    values = np.arange(1, 101, dtype=float)
    scores = rfm.score(values, rfm.quantile_edges(values, 5))
    assert np.bincount(scores)[1:].tolist() == [20, 20, 20, 20, 20]


def test_more_recent_customers_get_higher_recency_scores() -> None:
    recency_days = np.arange(0, 100, dtype=float)
    scores = rfm.score(recency_days, rfm.quantile_edges(recency_days, 5), higher_is_better=False)
    assert scores[0] == 5 and scores[-1] == 1
    assert np.all(np.diff(scores) <= 0)


def test_one_time_buyers_tied_on_a_cut_point_take_the_lowest_frequency_score() -> None:
    purchase_days = np.array([1] * 70 + [2] * 20 + [6] * 10, dtype=float)
    scores = rfm.score(purchase_days, rfm.quantile_edges(purchase_days, 5))
    assert set(scores[:70]) == {1}
    assert scores[75] > 1 and scores[-1] == 5


def test_the_number_of_bins_is_configurable() -> None:
    values = np.arange(30, dtype=float)
    assert set(rfm.score(values, rfm.quantile_edges(values, 3)).tolist()) == {1, 2, 3}


def test_a_new_value_is_scored_against_stored_cut_points() -> None:
    edges = (10.0, 20.0, 30.0, 40.0)
    assert rfm.score(np.array([5.0, 15.0, 45.0]), edges).tolist() == [1, 2, 5]


def test_value_percentile_is_the_share_of_the_population_at_or_below() -> None:
    population = np.arange(1, 1001, dtype=float)
    edges = tuple(np.quantile(population, rfm.PERCENTILE_EDGES))
    assert rfm.percentile(np.array([1.0, 500.0, 1000.0]), edges).tolist() == [0.0, 0.49, 0.99]


def test_segments_follow_the_recency_frequency_grid() -> None:
    r = np.array([5, 5, 4, 1, 1, 2, 3, 3, 1, 4, 5])
    f = np.array([5, 1, 1, 5, 3, 2, 3, 1, 1, 2, 3])
    assert rfm.segments(r, f, 5).tolist() == [
        "champions", "new", "promising", "cant-lose", "at-risk", "hibernating", "need-attention", "about-to-sleep",
        "lost", "potential-loyalists", "potential-loyalists"]


def test_every_named_segment_is_reachable() -> None:
    r, f = np.meshgrid(np.arange(1, 6), np.arange(1, 6))
    assert set(rfm.segments(r.ravel(), f.ravel(), 5)) == set(rfm.SEGMENTS)


def test_segments_with_three_bins_map_onto_the_five_point_grid() -> None:
    assert rfm.segments(np.array([3, 1]), np.array([3, 1]), 3).tolist() == ["champions", "lost"]
