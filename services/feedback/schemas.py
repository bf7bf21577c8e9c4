"""Feedback's HTTP models."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.feedback.surveys import LocaleCode, SurveyDefinition
from shared.events.fields import CustomerId, Label, Name, Reason, Timestamp
from shared.events.vocabulary import Channel, ComplaintSeverity, InvitationPriority

CaseStatus = Literal["open", "in_progress", "resolved", "closed"]


class SurveyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    survey_id: Label | None = None
    name: Name
    definition: SurveyDefinition


class SurveyUpdate(BaseModel):
    """A new definition becomes the next version; responses keep the version they answered."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    definition: SurveyDefinition | None = None


class SurveyRead(BaseModel):
    survey_id: str
    name: str
    status: str
    kind: str
    version: int
    current_version: int
    definition: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    survey_id: Label
    customer_ids: list[CustomerId] = Field(min_length=1, max_length=1000)
    locale: LocaleCode | None = None
    channel: Channel | None = None
    priority: InvitationPriority = "normal"
    #: Invite even customers surveyed within the cooldown (e.g. a service-recovery check).
    bypass_cooldown: bool = False


class InvitationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    invitation_id: str
    customer_id: str
    survey_id: str
    version: int
    locale: str | None
    channel: str | None
    trigger: str
    status: str
    created_at: datetime
    expires_at: datetime
    responded_at: datetime | None


class InvitedRead(BaseModel):
    invitation_id: str
    customer_id: str
    url: str
    expires_at: datetime


class SkippedRead(BaseModel):
    customer_id: str
    reason: str


class InvitationsCreated(BaseModel):
    invited: list[InvitedRead]
    skipped: list[SkippedRead]


class AnswersSubmit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, Any] = Field(max_length=50)


class ResponseCreate(BaseModel):
    """A response collected on another channel (phone, store, chat)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: CustomerId
    survey_id: Label
    version: int | None = Field(default=None, ge=1)
    channel: Label
    answers: dict[str, Any] = Field(max_length=50)
    responded_at: Timestamp | None = None


class ResponseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    response_id: str
    customer_id: str
    survey_id: str | None
    version: int | None
    invitation_id: str | None
    channel: str
    kind: str
    score: int | None
    comment: str | None
    sentiment: str | None
    themes: list[str]
    answers: dict[str, Any]
    tier: str | None
    responded_at: datetime


class ThankYou(BaseModel):
    response_id: str
    message: str = "Thank you for your feedback."


class ComplaintCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: CustomerId
    severity: ComplaintSeverity
    category: Label
    description: str = Field(min_length=1, max_length=5000)
    assignee: Label | None = None


class ComplaintUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: Label | None = None
    category: Label | None = None


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: CaseStatus
    resolution: Reason | None = None


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=5000)
    author: Label | None = None


class NoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: str
    author: str | None
    text: str
    created_at: datetime


class ComplaintRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    case_id: str
    customer_id: str
    severity: str
    category: str
    description: str
    status: str
    opened_at: datetime
    sla_due_at: datetime
    tier: str | None = None
    assignee: str | None = None
    response_id: str | None = None
    resolution: str | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    sla_breached_at: datetime | None = None
    reopened_count: int = 0


class FollowUpRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    task_id: str
    case_id: str
    customer_id: str
    kind: str
    status: str
    due_at: datetime
    created_at: datetime
    done_at: datetime | None


class StandingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    customer_id: str
    tier: str | None
    churn_risk: str | None
    stage: str | None
    first_purchase_at: datetime | None
    updated_at: datetime
