"""Lifecycle stages from the customer's own rhythm, and churn risk from P(alive) and satisfaction."""
from __future__ import annotations

import numpy as np

from services.scoring.churn import churn_risks, is_detractor
from services.scoring.lifecycle import stages, usual_gap_days
from services.scoring.policy import ChurnPolicy, StagePolicy

STAGES = StagePolicy()
CHURN = ChurnPolicy()
NAN = float("nan")


def stage(purchase_days: int, silence: float, gap: float = 30.0, p_alive: float = NAN) -> str:
    return stages(np.array([purchase_days]), np.array([silence]), np.array([gap]), np.array([p_alive]), STAGES)[0]


def test_a_known_customer_who_never_bought_is_a_prospect() -> None:
    assert stage(0, NAN) == "prospect"


def test_stages_follow_the_number_of_purchase_days() -> None:
    assert [stage(n, 1) for n in (1, 2, 4, 5, 12)] == ["first-time", "repeat", "repeat", "loyal", "loyal"]


def test_silence_beyond_twice_the_usual_gap_puts_a_customer_at_risk() -> None:
    assert stage(6, silence=59, gap=30) == "loyal"
    assert stage(6, silence=61, gap=30) == "at-risk"


def test_long_silence_with_a_low_p_alive_is_churn() -> None:
    assert stage(6, silence=130, gap=30, p_alive=0.1) == "churned"


def test_long_silence_with_a_high_p_alive_is_only_at_risk() -> None:
    assert stage(6, silence=130, gap=30, p_alive=0.8) == "at-risk"


def test_silence_beyond_the_maximum_is_churn_whatever_the_model_says() -> None:
    assert stage(6, silence=800, gap=400, p_alive=0.9) == "churned"


def test_a_new_purchase_brings_a_churned_customer_back() -> None:
    assert stage(7, silence=0, gap=30, p_alive=0.1) == "loyal"


def test_the_usual_gap_is_the_customers_own_mean_gap_between_purchase_days() -> None:
    gap = usual_gap_days(np.array([5, 1, 3]), np.array([0.0, 10.0, 0.0]), np.array([100.0, 10.0, 4.0]), STAGES)
    assert gap.tolist() == [25.0, STAGES.first_time_gap_days, STAGES.min_gap_days]


def risk(p_alive: float, stage: str = "repeat", detractor: bool = False, complaints: int = 0) -> str | None:
    return churn_risks(np.array([p_alive]), np.array([stage], dtype=object), np.array([detractor]),
                       np.array([complaints]), CHURN)[0]


def test_churn_risk_follows_p_alive() -> None:
    assert [risk(p) for p in (0.9, 0.5, 0.2)] == ["low", "medium", "high"]


def test_a_detractor_or_an_open_complaint_each_raise_the_risk_one_level() -> None:
    assert risk(0.9, detractor=True) == "medium"
    assert risk(0.9, detractor=True, complaints=1) == "high"
    assert risk(0.2, complaints=2) == "high"


def test_without_a_model_the_stage_sets_the_base_risk() -> None:
    assert [risk(NAN, s) for s in ("loyal", "at-risk", "churned")] == ["low", "medium", "high"]


def test_prospects_have_no_churn_risk() -> None:
    assert risk(NAN, "prospect") is None


def test_only_recent_low_nps_answers_count_as_detractors() -> None:
    flags = is_detractor(np.array([3, 9, 5, NAN]), np.array([10, 10, 400, 10]), CHURN)
    assert flags.tolist() == [True, False, False, False]
