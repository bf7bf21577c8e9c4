"""Lifecycle stages from the customer's own purchase rhythm and P(alive). Pure and vectorised."""
from __future__ import annotations

import numpy as np

from services.scoring.policy import StagePolicy

STAGE_ORDER = ("prospect", "first-time", "repeat", "loyal", "at-risk", "churned")


def usual_gap_days(purchase_days: np.ndarray, first_day: np.ndarray, last_day: np.ndarray,
                   policy: StagePolicy) -> np.ndarray:
    """Mean days between the customer's purchase days; an assumed rhythm for one purchase day; never
    shorter than the policy's minimum, so two purchases on consecutive days do not set a 1-day clock."""
    days = np.asarray(purchase_days, dtype=float)
    span = np.nan_to_num(np.asarray(last_day, dtype=float) - np.asarray(first_day, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(days >= 2, span / np.maximum(days - 1, 1), policy.first_time_gap_days)
    return np.maximum(gap, policy.min_gap_days)


def stages(purchase_days: np.ndarray, silence_days: np.ndarray, usual_gap: np.ndarray, p_alive: np.ndarray,
           policy: StagePolicy) -> np.ndarray:
    """The stage of each customer. A new purchase resets the silence, which brings a customer back."""
    days = np.asarray(purchase_days)
    silence = np.nan_to_num(np.asarray(silence_days, dtype=float))
    alive = np.asarray(p_alive, dtype=float)
    unlikely_alive = np.isnan(alive) | (alive < policy.churned_p_alive)
    churned = (days > 0) & ((silence > policy.max_silence_days)
                            | ((silence > policy.churned_gaps * usual_gap) & unlikely_alive))
    at_risk = (days > 0) & (silence > policy.at_risk_gaps * usual_gap)
    return np.select(
        [days == 0, churned, at_risk, days >= policy.loyal_min_purchase_days, days >= 2],
        ["prospect", "churned", "at-risk", "loyal", "repeat"], default="first-time").astype(object)
