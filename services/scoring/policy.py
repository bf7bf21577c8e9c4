"""The configurable thresholds of the tier, lifecycle-stage and churn-risk rules (TIER_POLICY, ... as JSON)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

Share = float


class _Policy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TierPolicy(_Policy):
    """Tiers from the customer's value percentile (CLV, or net spend while no model is fitted), RFM and P(alive).

    high-value: value percentile >= high_value_percentile and P(alive) >= high_value_p_alive.
    low-value:  P(alive) < low_value_p_alive; or, unless potential, value percentile < low_value_percentile.
    potential:  value percentile >= potential_percentile, or a recent customer (R >= potential_min_recency_score)
                with P(alive) >= potential_p_alive: a new customer has potential before it has spent much.
    ordinary:   everybody else.
    A customer moves only when the value percentile clears the boundary by `percentile_margin` (and P(alive)
    by `p_alive_margin`), so a customer near a boundary does not flip back and forth.
    """

    high_value_percentile: Share = Field(default=0.80, ge=0, le=1)
    high_value_p_alive: Share = Field(default=0.50, ge=0, le=1)
    potential_percentile: Share = Field(default=0.60, ge=0, le=1)
    potential_min_recency_score: int = Field(default=4, ge=1, le=5)
    potential_p_alive: Share = Field(default=0.70, ge=0, le=1)
    low_value_percentile: Share = Field(default=0.20, ge=0, le=1)
    low_value_p_alive: Share = Field(default=0.20, ge=0, le=1)
    percentile_margin: Share = Field(default=0.05, ge=0, le=0.5)
    p_alive_margin: Share = Field(default=0.05, ge=0, le=0.5)

    @model_validator(mode="after")
    def _ordered(self) -> "TierPolicy":
        if not self.low_value_percentile <= self.potential_percentile <= self.high_value_percentile:
            raise ValueError("percentiles must satisfy low_value <= potential <= high_value")
        return self


class StagePolicy(_Policy):
    """Lifecycle stages from the customer's own purchase rhythm (mean days between purchase days)."""

    loyal_min_purchase_days: int = Field(default=5, ge=3)
    #: Rhythm assumed for a customer with a single purchase day, and the shortest rhythm considered.
    first_time_gap_days: float = Field(default=60.0, gt=0)
    min_gap_days: float = Field(default=14.0, gt=0)
    #: Silence longer than this many usual gaps breaks the rhythm (at-risk) ...
    at_risk_gaps: float = Field(default=2.0, gt=0)
    #: ... and longer than this many, with P(alive) below churned_p_alive (or unknown), means churned.
    churned_gaps: float = Field(default=4.0, gt=0)
    churned_p_alive: Share = Field(default=0.30, ge=0, le=1)
    #: Silence after which a customer counts as churned whatever the model says.
    max_silence_days: int = Field(default=730, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> "StagePolicy":
        if self.churned_gaps <= self.at_risk_gaps:
            raise ValueError("churned_gaps must be larger than at_risk_gaps")
        return self


class ChurnPolicy(_Policy):
    """Churn risk from P(alive) (or the stage while no model is fitted), raised by dissatisfaction."""

    low_min_p_alive: Share = Field(default=0.70, ge=0, le=1)
    medium_min_p_alive: Share = Field(default=0.40, ge=0, le=1)
    #: NPS at or below this is a detractor; it counts for `detractor_memory_days` after the answer.
    detractor_max_nps: int = Field(default=6, ge=0, le=10)
    detractor_memory_days: int = Field(default=365, ge=1)


class ScoringPolicy(_Policy):
    tiers: TierPolicy = TierPolicy()
    stages: StagePolicy = StagePolicy()
    churn: ChurnPolicy = ChurnPolicy()
    bins: int = Field(default=5, ge=2, le=5)
