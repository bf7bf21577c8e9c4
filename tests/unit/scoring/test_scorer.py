"""The whole scoring pass over arrays: RFM, predictions, tiers, stages and risk together."""
from __future__ import annotations

import numpy as np

from services.scoring.lifetime_value import FittedModel
from services.scoring.policy import ScoringPolicy
from services.scoring.scorer import Facts, fingerprints, population_cut_points, score

TODAY = 1000
MODEL = FittedModel("bgnbd", "day", {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}, {"p": 6.0, "q": 4.0, "v": 15.0})


def facts(days: list[int], first: list[float], last: list[float], spend: list[float],
          previous_tier: list[str | None] | None = None) -> Facts:
    n = len(days)
    nan = np.full(n, np.nan)
    return Facts(customer_id=np.array([f"c{i}" for i in range(n)], dtype=object), purchase_days=np.array(days),
                 first_day=np.array(first, dtype=float), last_day=np.array(last, dtype=float),
                 total_spend=np.array(spend, dtype=float), nps=nan, nps_day=nan, open_complaints=np.zeros(n, int),
                 previous_tier=np.array(previous_tier or [None] * n, dtype=object),
                 previous_stage=np.full(n, None, dtype=object), previous_risk=np.full(n, None, dtype=object))


def population(n: int = 200) -> Facts:
    rng = np.random.default_rng(7)
    days = rng.integers(1, 12, n)
    first = TODAY - rng.integers(100, 700, n).astype(float)
    last = np.where(days > 1, first + rng.integers(0, 100, n), first)
    spend = days * rng.gamma(4, 10, n)
    return facts(list(days) + [0], list(first) + [np.nan], list(last) + [np.nan], list(spend) + [0.0])


def test_prospects_get_a_stage_but_no_rfm_tier_or_risk() -> None:
    people = population()
    scores = score(people, TODAY, population_cut_points(people, TODAY, None, 5), None, ScoringPolicy())
    assert scores.stage[-1] == "prospect"
    assert scores.r[-1] == 0 and scores.tier[-1] is None and scores.churn_risk[-1] is None


def test_every_buyer_gets_rfm_scores_a_segment_and_a_tier() -> None:
    people = population()
    scores = score(people, TODAY, population_cut_points(people, TODAY, None, 5), None, ScoringPolicy())
    buyers = people.purchase_days > 0
    assert set(scores.r[buyers]) <= {1, 2, 3, 4, 5} and all(scores.segment[buyers])
    assert set(scores.tier[buyers]) == {"high-value", "potential", "ordinary", "low-value"}


def test_with_a_model_each_buyer_gets_p_alive_expected_purchases_and_clv() -> None:
    people = population()
    cuts = population_cut_points(people, TODAY, MODEL, 5)
    scores = score(people, TODAY, cuts, MODEL, ScoringPolicy())
    buyers = people.purchase_days > 0
    assert cuts is not None and cuts.clv is not None
    assert np.all((scores.p_alive[buyers] > 0) & (scores.p_alive[buyers] <= 1))
    assert np.all(scores.expected_purchases_90d[buyers] >= 0) and np.all(scores.clv[buyers] >= 0)
    assert np.isnan(scores.clv[-1])


def test_a_frequent_recent_big_spender_is_a_high_value_champion() -> None:
    people = population()
    cuts = population_cut_points(people, TODAY, MODEL, 5)
    star = facts([30], [TODAY - 300.0], [TODAY - 2.0], [30_000.0])
    scores = score(star, TODAY, cuts, MODEL, ScoringPolicy())
    assert (scores.r[0], scores.f[0], scores.m[0]) == (5, 5, 5)
    assert scores.segment[0] == "champions" and scores.tier[0] == "high-value" and scores.stage[0] == "loyal"


def test_without_cut_points_buyers_keep_their_previous_tier() -> None:
    scores = score(facts([2], [900.0], [950.0], [20.0], ["ordinary"]), TODAY, None, None, ScoringPolicy())
    assert scores.tier[0] == "ordinary" and scores.stage[0] == "repeat"


def test_rows_of_many_customers_read_as_row_of_each() -> None:
    people = population()
    scores = score(people, TODAY, population_cut_points(people, TODAY, MODEL, 5), MODEL, ScoringPolicy())
    picked = np.array([0, 7, len(people) - 1])
    assert scores.rows(picked) == {int(i): scores.row(int(i)) for i in picked}


def test_equal_scores_have_equal_fingerprints_and_any_difference_shows() -> None:
    people = population()
    cuts = population_cut_points(people, TODAY, MODEL, 5)
    today, again = score(people, TODAY, cuts, MODEL, ScoringPolicy()), score(people, TODAY, cuts, MODEL, ScoringPolicy())
    assert np.array_equal(fingerprints(today, "v1"), fingerprints(again, "v1"))
    assert np.all(fingerprints(today, "v1") != fingerprints(today, "v2"))
    tomorrow = fingerprints(score(people, TODAY + 1, cuts, MODEL, ScoringPolicy()), "v1")
    buyers = people.purchase_days > 0
    assert np.all(tomorrow[buyers] != fingerprints(today, "v1")[buyers])  # recency grew, P(alive) moved
    assert tomorrow[~buyers] == fingerprints(today, "v1")[~buyers]  # a prospect stays a prospect
    assert np.all(fingerprints(today, "v1") >= 0)  # fits a signed 64-bit column, never the "none" marker
