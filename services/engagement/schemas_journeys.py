"""Journeys over HTTP: the definition a client writes (trigger, steps, exit events) and what it reads back."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from services.engagement.journey_rules import FACTS, RANKS
from services.engagement.schemas import TemplateText
from shared.events.fields import ExternalId
from shared.events.vocabulary import (
    Channel,
    ChurnRisk,
    ComplaintSeverity,
    FeedbackKind,
    LifecycleStage,
    Sentiment,
    Tier,
)

StepId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,48}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Priority = Literal["transactional", "service", "win_back", "promotion"]
_STANDING_VALUES: dict[str, type] = {"tier-changed": Tier, "lifecycle-stage-changed": LifecycleStage,
                                     "churn-risk-changed": ChurnRisk}


def _positive(value: timedelta | None) -> timedelta | None:
    if value is not None and value <= timedelta(0):
        raise ValueError("must be a positive duration, e.g. PT2H or P7D")
    return value


Duration = Annotated[timedelta, AfterValidator(_positive)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --- triggers --------------------------------------------------------------------------------------------

class StandingTrigger(_Strict):
    """A tier, lifecycle stage or churn risk change *into* `to` (any change when absent), optionally only
    from the values in `from`, or only upwards/downwards (`direction`, for tiers and churn risk)."""

    event: Literal["tier-changed", "lifecycle-stage-changed", "churn-risk-changed"]
    to: Label | None = None
    from_: list[Label] | None = Field(default=None, alias="from", min_length=1, max_length=10)
    direction: Literal["up", "down"] | None = None

    @model_validator(mode="after")
    def _known_values(self) -> StandingTrigger:
        allowed = get_args(_STANDING_VALUES[self.event])
        for name, values in (("to", [self.to] if self.to else []), ("from", self.from_ or [])):
            unknown = [v for v in values if v not in allowed]
            if unknown:
                raise ValueError(f"{name}: {unknown} are not values of {self.event} (one of {list(allowed)})")
        if self.direction is not None and self.event not in RANKS:
            raise ValueError(f"direction applies to {sorted(RANKS)} only")
        return self


class PurchaseTrigger(_Strict):
    """A purchase; with `first_purchase`, only the customer's first order engagement learns of."""

    event: Literal["purchase-recorded"]
    first_purchase: bool = False


class FeedbackTrigger(_Strict):
    """Survey feedback, e.g. a detractor: `{"kind": ["nps"], "score_at_most": 6}`."""

    event: Literal["feedback-received"]
    kind: list[FeedbackKind] | None = Field(default=None, min_length=1)
    score_at_most: int | None = Field(default=None, ge=0, le=10)
    score_at_least: int | None = Field(default=None, ge=0, le=10)
    sentiment: list[Sentiment] | None = Field(default=None, min_length=1)


class ComplaintTrigger(_Strict):
    """A complaint case opened (or resolved), optionally of given severities or categories."""

    event: Literal["complaint-opened", "complaint-resolved"]
    severity: list[ComplaintSeverity] | None = Field(default=None, min_length=1)
    category: list[Label] | None = Field(default=None, min_length=1)


class BirthdayTrigger(_Strict):
    """On the customer's birthday in their time zone, once a year."""

    event: Literal["birthday"]
    segment_id: ExternalId | None = None
    """Only the members of this segment."""


class Holiday(_Strict):
    date: Annotated[str, StringConstraints(pattern=r"^(\d{4}-)?(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")]
    """`MM-DD` for every year, or `YYYY-MM-DD` for one year only (movable feasts)."""
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class HolidayTrigger(_Strict):
    """On each holiday of the calendar, in each customer's time zone, for every customer engagement knows
    (or the members of `segment_id`)."""

    event: Literal["holiday"]
    calendar: list[Holiday] = Field(min_length=1, max_length=366)
    segment_id: ExternalId | None = None
    """Only the members of this segment."""


EventTrigger = Annotated[StandingTrigger | PurchaseTrigger | FeedbackTrigger | ComplaintTrigger,
                         Field(discriminator="event")]
Trigger = Annotated[StandingTrigger | PurchaseTrigger | FeedbackTrigger | ComplaintTrigger | BirthdayTrigger | HolidayTrigger, Field(discriminator="event")]


# --- steps -----------------------------------------------------------------------------------------------

class SendStep(_Strict):
    """Queue a message; the contact policy (consent, caps, quiet hours) decides at send time. Templates
    see `event` (the starting event's fields) and `coupon_code` (from an earlier grant_coupon step)."""

    id: StepId
    type: Literal["send"]
    channel: Channel | Literal["preferred"] = "preferred"
    priority: Priority = "promotion"
    template_id: ExternalId | None = None
    subject: TemplateText | None = None
    body: TemplateText | None = None
    variables: dict[str, Any] = Field(default_factory=dict, max_length=50)
    expires_after: Duration | None = None
    """Drop the message when the policy has not let it out by then."""

    @model_validator(mode="after")
    def _template_or_body(self) -> SendStep:
        if (self.template_id is None) == (self.body is None):
            raise ValueError(f"step {self.id!r}: give exactly one of template_id and body")
        return self


class WaitStep(_Strict):
    """Wait `duration` (ISO 8601, e.g. `P7D`), then on until the next `until_local_time` in the customer's zone."""

    id: StepId
    type: Literal["wait"]
    duration: Duration | None = None
    until_local_time: time | None = None

    @model_validator(mode="after")
    def _something_to_wait_for(self) -> WaitStep:
        if self.duration is None and self.until_local_time is None:
            raise ValueError(f"step {self.id!r}: give duration, until_local_time or both")
        if self.until_local_time is not None and self.until_local_time.tzinfo is not None:
            raise ValueError(f"step {self.id!r}: until_local_time is a local time of day, without an offset")
        return self


class Condition(_Strict):
    """`{"field": "tier", "in": ["high-value"]}`; fields: tier, lifecycle_stage, churn_risk, locale, points,
    last_message.status, last_message.delivery (opened, clicked, ...) and `event.<field>` of the starting event."""

    field: Annotated[str, StringConstraints(max_length=64)]
    equals: str | int | bool | None = None
    in_: list[str | int] | None = Field(default=None, alias="in", min_length=1, max_length=50)
    at_least: float | None = None
    at_most: float | None = None
    exists: bool | None = None

    @field_validator("field")
    @classmethod
    def _known_field(cls, value: str) -> str:
        if value not in FACTS and not (value.startswith("event.") and len(value) > len("event.")):
            raise ValueError(f"unknown field {value!r}; use one of {list(FACTS)} or event.<field>")
        return value

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        given = [name for name in ("equals", "in", "at_least", "at_most", "exists")
                 if getattr(self, "in_" if name == "in" else name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of equals, in, at_least, at_most, exists (got {given or 'none'})")
        return self


class BranchStep(_Strict):
    """Go to step `then` when the condition holds, else to `else` (the next step when absent);
    `end` finishes the journey. Branches only go forward."""

    id: StepId
    type: Literal["branch"]
    if_: Condition = Field(alias="if")
    then: StepId
    else_: StepId | None = Field(default=None, alias="else")


class GrantPointsStep(_Strict):
    """Credit loyalty points (once per journey instance and step)."""

    id: StepId
    type: Literal["grant_points"]
    points: int = Field(ge=1, le=1_000_000)


class GrantCouponStep(_Strict):
    """Issue a personal coupon code (batch = the journey id); later sends see it as `coupon_code`."""

    id: StepId
    type: Literal["grant_coupon"]
    discount: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    prefix: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9-]{0,12}$")] = ""
    valid_for: Duration | None = None


Step = Annotated[SendStep | WaitStep | BranchStep | GrantPointsStep | GrantCouponStep, Field(discriminator="type")]


# --- journeys --------------------------------------------------------------------------------------------

class JourneyWrite(_Strict):
    """A journey: when it starts, what it does, and which events end it early.

    The one-message form of earlier versions (`channel`, `priority`, `template_id` or `subject`/`body`,
    `delay_hours`) is still accepted and stored as a wait step and a send step."""

    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    trigger: Trigger
    steps: list[Step] = Field(min_length=1, max_length=50)
    exit_on: list[EventTrigger] = Field(default_factory=list, max_length=10)
    """E.g. `[{"event": "purchase-recorded"}]`: a purchase ends a win-back journey."""
    enabled: bool = True
    """A disabled journey starts nobody and its customers wait where they are until it is enabled again."""

    @model_validator(mode="before")
    @classmethod
    def _one_message_form(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "steps" in data or not ({"body", "template_id"} & data.keys()):
            return data
        data = dict(data)
        send: dict[str, Any] = {"id": "send", "type": "send"}
        for key in ("channel", "priority", "template_id", "subject", "body"):
            if key in data:
                send[key] = data.pop(key)
        delay = data.pop("delay_hours", 0)
        steps: list[dict[str, Any]] = [send]
        if isinstance(delay, int) and delay > 0:
            steps.insert(0, {"id": "delay", "type": "wait", "duration": timedelta(hours=delay)})
        return {**data, "steps": steps}


class JourneyRead(JourneyWrite):
    journey_id: str
    updated_at: datetime


class JourneyInstanceRead(BaseModel):
    """One customer's way through a journey: where they are, until when, and the steps taken."""

    model_config = ConfigDict(from_attributes=True)

    instance_id: str
    journey_id: str
    customer_id: str
    status: str
    """active, completed or exited."""
    step_id: str | None
    """The step the customer waits before."""
    due_at: datetime | None
    exit_reason: str | None
    context: dict[str, Any]
    trail: list[dict[str, Any]]
    started_at: datetime
    finished_at: datetime | None

