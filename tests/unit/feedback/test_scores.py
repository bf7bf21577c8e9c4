"""NPS, CSAT and CES arithmetic."""
from __future__ import annotations

import math

import pytest

from services.feedback.scores import (
    NpsCounts,
    ces_mean,
    csat_percent,
    nps,
    nps_category,
    nps_of_scores,
    response_rate,
)


@pytest.mark.parametrize(("score", "category"), [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive"),
                                                 (9, "promoter"), (10, "promoter")])
def test_scores_fall_into_nps_categories(score: int, category: str) -> None:
    assert nps_category(score) == category


def test_nps_is_promoters_minus_detractors_in_points() -> None:
    assert nps_of_scores([10, 9, 9, 8, 7, 6, 0, 10, 10, 3]).nps == 20.0  # 5 promoters, 3 detractors of 10


def test_all_promoters_make_an_nps_of_100_with_no_uncertainty() -> None:
    result = nps(NpsCounts(promoters=40, passives=0, detractors=0))
    assert (result.nps, result.ci_low, result.ci_high) == (100.0, 100.0, 100.0)


def test_the_interval_matches_the_variance_of_a_plus_minus_one_variable() -> None:
    result = nps(NpsCounts(promoters=50, passives=30, detractors=20))
    margin = 1.959964 * math.sqrt((0.5 + 0.2 - 0.3 ** 2) / 100)
    assert result.nps == 30.0
    assert result.ci_low == pytest.approx(100 * (0.3 - margin), abs=0.01)
    assert result.ci_high == pytest.approx(100 * (0.3 + margin), abs=0.01)


def test_the_interval_narrows_as_responses_grow() -> None:
    small = nps(NpsCounts(5, 3, 2))
    large = nps(NpsCounts(500, 300, 200))
    assert small.nps == large.nps
    assert (large.ci_high - large.ci_low) < (small.ci_high - small.ci_low)  # type: ignore[operator]


def test_no_responses_have_no_nps() -> None:
    assert nps(NpsCounts(0, 0, 0)).nps is None


def test_csat_is_the_share_of_fours_and_fives() -> None:
    assert csat_percent(satisfied=3, responses=4) == 75.0
    assert csat_percent(0, 0) is None


def test_ces_is_the_mean_effort_and_response_rate_a_percentage() -> None:
    assert ces_mean(11, 4) == 2.75
    assert response_rate(responded=1, invited=3) == 33.33
    assert response_rate(0, 0) is None
