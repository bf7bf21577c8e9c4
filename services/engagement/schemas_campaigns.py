"""HTTP models of campaigns."""
from __future__ import annotations

from datetime import datetime, time
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from typing_extensions import Annotated

from services.engagement.campaign_rules import is_valid_cron
from services.engagement.schemas import TemplateText
from shared.events.fields import CustomerId, ExternalId, Label, Name
from shared.events.vocabulary import Channel, LifecycleStage, Tier

CampaignId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,48}$")]


class CampaignAudience(BaseModel):
    """Who the campaign is for; the criteria given must all hold."""

    model_config = ConfigDict(extra="forbid")

    segment_id: ExternalId | None = None
    tier: Tier | None = None
    lifecycle_stage: LifecycleStage | None = None
    customer_ids: list[CustomerId] | None = Field(default=None, max_length=10_000)

    @model_validator(mode="after")
    def _some_criterion(self) -> CampaignAudience:
        if not any((self.segment_id, self.tier, self.lifecycle_stage, self.customer_ids)):
            raise ValueError("name a segment_id, tier, lifecycle_stage or customer_ids")
        return self


class CampaignVariant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Label
    template_id: ExternalId | None = None
    subject: TemplateText | None = None
    body: TemplateText | None = None
    weight: int = Field(default=1, ge=1, le=1000)
    """Share of the (non-holdout) audience, relative to the other variants."""

    @model_validator(mode="after")
    def _template_or_body(self) -> CampaignVariant:
        if (self.template_id is None) == (self.body is None):
            raise ValueError("give exactly one of template_id and body")
        return self


class CampaignSchedule(BaseModel):
    """`now`; `at` a time; `cron` (UTC, recurring); `local_time`: at that hour in each customer's zone."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["now", "at", "cron", "local_time"] = "now"
    at: AwareDatetime | None = None
    cron: Annotated[str, StringConstraints(max_length=100)] | None = None
    local_time: time | None = None

    @model_validator(mode="after")
    def _fields_of_the_kind(self) -> CampaignSchedule:
        if self.kind == "at" and self.at is None:
            raise ValueError("schedule `at` needs `at`")
        if self.kind == "cron" and (self.cron is None or not is_valid_cron(self.cron)):
            raise ValueError("schedule `cron` needs a valid 5-field cron expression in `cron`")
        if self.kind == "local_time" and self.local_time is None:
            raise ValueError("schedule `local_time` needs `local_time`, e.g. 10:00")
        return self


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign_id: CampaignId
    name: Name
    audience: CampaignAudience
    channel: Channel | Literal["preferred"] = "preferred"
    priority: Literal["promotion", "win_back", "service"] = "promotion"
    variants: list[CampaignVariant] = Field(min_length=1, max_length=10)
    holdout_percent: float = Field(default=0, ge=0, le=50)
    """Share of the audience kept out as a control group."""
    schedule: CampaignSchedule = Field(default_factory=CampaignSchedule)
    expires_after_hours: int | None = Field(default=None, ge=1, le=24 * 30)
    """Messages not sent within this many hours of their send time are dropped."""

    @model_validator(mode="after")
    def _distinct_variants(self) -> CampaignCreate:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names) or "holdout" in names:
            raise ValueError("variant names must be distinct and not `holdout`")
        return self


class CampaignRead(CampaignCreate):
    status: str
    next_run_at: datetime | None
    runs: int
    created_at: datetime


class DryRunEntry(BaseModel):
    customer_id: str
    arm: str
    channel: str | None = None
    reason: str | None = None


class DryRunRead(BaseModel):
    campaign_id: str
    would_contact: list[DryRunEntry]
    would_defer: list[DryRunEntry]
    suppressed: list[DryRunEntry]
    holdout: list[DryRunEntry]


class CampaignStats(BaseModel):
    campaign_id: str
    runs: int
    audience: int
    holdout: int
    arms: dict[str, dict[str, int]]
    """Per variant: assigned, and message counts by status and by delivery report."""
    suppression_reasons: dict[str, int]
