"""Churn risk from P(alive) plus satisfaction signals (detractor answers, open complaints). Pure, vectorised."""
from __future__ import annotations

import numpy as np

from services.scoring.policy import ChurnPolicy

RISKS = ("low", "medium", "high")


def is_detractor(nps: np.ndarray, days_since_answer: np.ndarray, policy: ChurnPolicy) -> np.ndarray:
    score = np.asarray(nps, dtype=float)
    age = np.asarray(days_since_answer, dtype=float)
    return ~np.isnan(score) & (score <= policy.detractor_max_nps) & (age <= policy.detractor_memory_days)


def churn_risks(p_alive: np.ndarray, stage: np.ndarray, detractor: np.ndarray, open_complaints: np.ndarray,
                policy: ChurnPolicy) -> np.ndarray:
    """low/medium/high per customer (None for prospects, who have nothing to lose yet).

    The base level comes from P(alive), or from the stage while no model is fitted; a recent detractor
    answer and an open complaint each raise it one level.
    """
    alive = np.asarray(p_alive, dtype=float)
    stage = np.asarray(stage, dtype=object)
    from_model = np.select([alive >= policy.low_min_p_alive, alive >= policy.medium_min_p_alive], [0, 1], default=2)
    from_stage = np.select([stage == "churned", stage == "at-risk"], [2, 1], default=0)
    level = np.where(np.isnan(alive), from_stage, from_model)
    level = level + np.asarray(detractor, dtype=int) + (np.asarray(open_complaints) > 0)
    risks = np.asarray(RISKS, dtype=object)[np.minimum(level, 2)]
    return np.where(stage == "prospect", None, risks)
