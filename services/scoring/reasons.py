"""Why a customer is where it is, in words an operator can read: built from the numbers that decided it."""
from __future__ import annotations

from typing import Any

from services.scoring.policy import ScoringPolicy


def _pct(share: float) -> str:
    return f"{round(share * 100)}th percentile"


def tier_reasons(score: dict[str, Any], policy: ScoringPolicy, value_basis: str) -> list[str]:
    rules = policy.tiers
    reasons = []
    if score.get("value_percentile") is not None:
        reasons.append(f"{value_basis} at the {_pct(score['value_percentile'])} (high-value from the "
                       f"{_pct(rules.high_value_percentile)}, low-value below the {_pct(rules.low_value_percentile)})")
    if score.get("p_alive") is not None:
        reasons.append(f"P(alive) {score['p_alive']:.2f} (high-value needs {rules.high_value_p_alive:.2f}, "
                       f"low-value below {rules.low_value_p_alive:.2f})")
    if score.get("r"):
        reasons.append(f"RFM {score['r']}-{score['f']}-{score['m']} ({score['segment']})")
    return reasons


def stage_reasons(score: dict[str, Any], purchase_days: int, policy: ScoringPolicy) -> list[str]:
    if purchase_days == 0:
        return ["known customer with no purchase yet"]
    reasons = [f"{purchase_days} purchase day{'s' if purchase_days != 1 else ''}"]
    if score.get("recency_days") is not None:
        gap = score.get("usual_gap_days") or policy.stages.first_time_gap_days
        reasons.append(f"{int(score['recency_days'])} days since the last purchase; usual gap {gap:.0f} days "
                       f"(at-risk after {policy.stages.at_risk_gaps:g} gaps, churned after "
                       f"{policy.stages.churned_gaps:g})")
    if score.get("p_alive") is not None:
        reasons.append(f"P(alive) {score['p_alive']:.2f}")
    return reasons


def churn_reasons(score: dict[str, Any], detractor_nps: int | None, open_complaints: int) -> list[str]:
    reasons = []
    if score.get("p_alive") is not None:
        reasons.append(f"P(alive) {score['p_alive']:.2f}")
    else:
        reasons.append(f"stage {score['stage']} (no CLV model fitted yet)")
    if detractor_nps is not None:
        reasons.append(f"detractor: last NPS answer {detractor_nps}")
    if open_complaints:
        reasons.append(f"{open_complaints} open complaint{'s' if open_complaints != 1 else ''}")
    return reasons
