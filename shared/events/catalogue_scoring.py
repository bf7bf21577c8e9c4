"""Events scoring publishes when a customer's value tier, lifecycle stage or churn risk changes."""
from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, model_validator

from shared.events.envelope import EventData, PayloadPart
from shared.events.fields import Currency, CustomerId, Label, Money, Reason
from shared.events.vocabulary import ChurnRisk, LifecycleStage, Tier

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Reasons = Annotated[list[Reason], Field(max_length=20)]
RfmScore = Annotated[int, Field(ge=1, le=5, strict=True)]


class RfmV1(PayloadPart):
    """Recency, frequency and monetary quintile scores, 1 (worst) to 5 (best), and raw values."""

    r: RfmScore
    f: RfmScore
    m: RfmScore
    recency_days: int | None = Field(default=None, ge=0)
    """Days since the last purchase."""
    frequency: int | None = Field(default=None, ge=0)
    """Number of purchases counted."""
    monetary: Money | None = None
    """Average order value, in the event's currency."""


class TierChangedV1(EventData):
    """The customer's value tier changed (or was assigned for the first time)."""

    event_type: ClassVar[str] = "tier-changed"
    dataversion: ClassVar[int] = 1

    customer_id: CustomerId
    previous_tier: Tier | None = None
    """Null on the first assignment."""
    tier: Tier
    rfm: RfmV1
    clv: Money | None = None
    """Predicted customer lifetime value; null while no CLV model is fitted."""
    currency: Currency | None = None
    """ISO 4217 code of `clv` and `rfm.monetary`; required when either is given."""
    p_alive: Probability | None = None
    """Probability that the customer is still active."""
    reasons: Reasons = Field(default_factory=list)
    """Why the tier changed, in words an operator can read."""
    model_version: Label | None = None
    """Version of the model or rule set that scored the customer."""

    @model_validator(mode="after")
    def _amounts_have_a_currency(self) -> TierChangedV1:
        if self.currency is None and (self.clv is not None or self.rfm.monetary is not None):
            raise ValueError("currency is required when clv or rfm.monetary is given")
        return self


class LifecycleStageChangedV1(EventData):
    """The customer moved to another lifecycle stage (or was given one for the first time)."""

    event_type: ClassVar[str] = "lifecycle-stage-changed"
    dataversion: ClassVar[int] = 1

    customer_id: CustomerId
    previous_stage: LifecycleStage | None = None
    """Null on the first assignment."""
    stage: LifecycleStage
    reasons: Reasons = Field(default_factory=list)


class ChurnRiskChangedV1(EventData):
    """The customer's churn risk changed (or was assessed for the first time)."""

    event_type: ClassVar[str] = "churn-risk-changed"
    dataversion: ClassVar[int] = 1

    customer_id: CustomerId
    previous_risk: ChurnRisk | None = None
    """Null on the first assessment."""
    risk: ChurnRisk
    p_alive: Probability | None = None
    """Probability that the customer is still active."""
    reasons: Reasons = Field(default_factory=list)
