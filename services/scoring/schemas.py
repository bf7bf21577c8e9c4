"""Scoring's HTTP models."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events.vocabulary import ChurnRisk, LifecycleStage, Tier


class RfmRead(BaseModel):
    r: int
    f: int
    m: int
    segment: str
    recency_days: int
    frequency: int = Field(description="Purchase days")
    monetary: Decimal = Field(description="Average net spend per purchase day")


class ReasonsRead(BaseModel):
    tier: list[str] = []
    stage: list[str] = []
    churn_risk: list[str] = []


class ScoreRead(BaseModel):
    customer_id: str
    purchase_count: int
    purchase_days: int
    total_spend: Decimal
    refunded: Decimal
    currency: str
    first_purchase_at: datetime | None
    last_purchase_at: datetime | None
    rfm: RfmRead | None
    p_alive: float | None
    expected_purchases_90d: float | None
    expected_spend: Decimal | None = Field(description="Expected spend per purchase day")
    clv: Decimal | None
    value_percentile: float | None
    tier: Tier | None
    lifecycle_stage: LifecycleStage
    churn_risk: ChurnRisk | None
    open_complaints: int
    last_nps: int | None
    reasons: ReasonsRead
    model_version: str | None
    scored_at: datetime


class ScoreChangeRead(BaseModel):
    id: int
    kind: Literal["tier", "stage", "churn-risk"]
    previous: str | None
    current: str
    reasons: list[str]
    model_version: str | None
    at: datetime


class RescoreRead(BaseModel):
    customers: int
    scored_buyers: int
    tier_changes: int
    stage_changes: int
    risk_changes: int
    model_version: str | None
    scores_written: int
    """Customers whose scores differed from the stored ones and were written; the others were left alone."""


class CutPointsRead(BaseModel):
    bins: int
    recency_days: list[float]
    frequency: list[float]
    monetary: list[float]
    customers: int
    computed_at: datetime


class FitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: date | None = Field(default=None, description="End of the observation period (exclusive); default today")
    time_unit: Literal["day", "week"] = "week"
    model: Literal["bgnbd", "paretonbd"] = "bgnbd"


class FitJobRead(BaseModel):
    job_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    request: dict[str, object]
    model_version: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class ModelRead(BaseModel):
    version: str
    model: str
    spend_model: str = "gamma-gamma"
    time_unit: str
    transaction_params: dict[str, float]
    spend_params: dict[str, float]
    log_likelihood: float
    spend_log_likelihood: float
    customers: int
    repeat_customers: int
    as_of: datetime
    duration_seconds: float
    fitted_at: datetime


class BacktestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    calibration_end: date
    holdout_end: date
    time_unit: Literal["day", "week"] = "week"
    model: Literal["bgnbd", "paretonbd"] = "bgnbd"

    @model_validator(mode="after")
    def _ordered(self) -> "BacktestRequest":
        if self.holdout_end <= self.calibration_end:
            raise ValueError("holdout_end must be after calibration_end")
        return self


class DecileRead(BaseModel):
    decile: int
    customers: int
    predicted_purchases: float
    actual_purchases: float


class BacktestRead(BaseModel):
    customers: int
    holdout_days: int
    predicted_purchases: float
    actual_purchases: float
    mean_absolute_error: float
    deciles: list[DecileRead]
