from __future__ import annotations

import json
from decimal import Decimal

from pydantic import Field, field_validator
from pydantic_settings import NoDecode
from typing_extensions import Annotated

from services.scoring.policy import ChurnPolicy, ScoringPolicy, StagePolicy, TierPolicy
from shared.settings import ServiceSettings


class ScoringSettings(ServiceSettings):
    service_name: str = "scoring"
    port: int = 8002
    base_currency: str = "USD"
    #: Units of base currency per unit of each currency, e.g. {"EUR": "1.08"}; JSON in CURRENCY_RATES.
    currency_rates: Annotated[dict[str, Decimal], NoDecode] = {}
    #: A purchase dated up to this far ahead of the clock (skewed tills) is clamped to now; further is refused.
    future_tolerance_seconds: int = Field(default=3600, ge=0)
    #: Number of RFM bins (scores 1..bins); 5 gives quintiles.
    rfm_bins: int = Field(default=5, ge=2, le=5)
    #: Full rescore (cut points, predictions, tiers, stages, churn risk); also the lifecycle sweep.
    rescore_every_seconds: int = Field(default=3600, ge=1)
    #: Scheduled CLV refit; 0 turns it off.
    refit_every_seconds: int = Field(default=86_400, ge=0)
    refit_model: str = Field(default="bgnbd", pattern="^(bgnbd|paretonbd)$")
    #: A fit needs at least this many customers, of whom this many bought on two days or more.
    min_fit_customers: int = Field(default=50, ge=2)
    min_fit_repeat_customers: int = Field(default=10, ge=2)
    #: Months of purchases CLV covers, and the monthly discount rate.
    clv_months: int = Field(default=12, ge=1, le=120)
    clv_discount_rate: float = Field(default=0.01, ge=0.0, lt=1.0)
    tier_policy: Annotated[TierPolicy, NoDecode] = TierPolicy()
    stage_policy: Annotated[StagePolicy, NoDecode] = StagePolicy()
    churn_policy: Annotated[ChurnPolicy, NoDecode] = ChurnPolicy()

    @field_validator("currency_rates", "tier_policy", "stage_policy", "churn_policy", mode="before")
    @classmethod
    def _parse_json(cls, value: object) -> object:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value

    def rates(self) -> dict[str, Decimal]:
        return {self.base_currency: Decimal(1), **self.currency_rates}

    def policy(self) -> ScoringPolicy:
        return ScoringPolicy(tiers=self.tier_policy, stages=self.stage_policy, churn=self.churn_policy,
                             bins=self.rfm_bins)
