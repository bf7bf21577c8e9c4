"""Events feedback publishes about survey invitations, responses and complaints."""
from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from shared.events.envelope import EventData
from shared.events.fields import (
    CustomerId,
    ExternalId,
    HttpUrl,
    Label,
    Locale,
    LongText,
    Name,
    Reason,
    Timestamp,
)
from shared.events.vocabulary import (
    Channel,
    ComplaintSeverity,
    FeedbackKind,
    InvitationPriority,
    Sentiment,
)

# The scales the analytics assume: NPS 0-10, CSAT 1-5, CES 1-7 ("other" is free within 0-10).
SCORE_RANGES: dict[str, tuple[int, int]] = {
    "nps": (0, 10),
    "csat": (1, 5),
    "ces": (1, 7),
    "other": (0, 10),
}


class SurveyInvitedV1(EventData):
    """Feedback wants the customer invited to a survey; engagement delivers the invitation."""

    event_type: ClassVar[str] = "survey-invited"
    dataversion: ClassVar[int] = 1

    invitation_id: ExternalId
    customer_id: CustomerId
    survey_id: ExternalId
    survey_name: Name | None = None
    url: HttpUrl
    """Personal, token-authorised link to the public response page."""
    expires_at: Timestamp | None = None
    """After this the link no longer accepts answers; do not deliver it late."""
    priority: InvitationPriority = "normal"
    """How eagerly to send it against the contact budget."""
    channel: Channel | None = None
    """Preferred channel; null lets engagement choose."""
    locale: Locale | None = None
    """Language the survey page opens in, for the invitation's text too; null: the customer's own."""


class FeedbackReceivedV1(EventData):
    """The customer answered a survey (or gave feedback elsewhere). Natural key: response_id."""

    event_type: ClassVar[str] = "feedback-received"
    dataversion: ClassVar[int] = 1

    response_id: ExternalId
    customer_id: CustomerId
    survey_id: ExternalId | None = None
    """Null for feedback that did not come through a survey."""
    invitation_id: ExternalId | None = None
    kind: FeedbackKind
    score: int | None = Field(default=None, strict=True)
    """NPS 0-10, CSAT 1-5, CES 1-7; `other` 0-10; null when only a comment was given."""
    comment: LongText | None = None
    sentiment: Sentiment | None = None
    themes: list[Label] = Field(default_factory=list, max_length=20)
    """Topics found in the comment, e.g. `delivery`, `price`."""
    responded_at: Timestamp | None = None

    @model_validator(mode="after")
    def _score_fits_its_scale(self) -> FeedbackReceivedV1:
        low, high = SCORE_RANGES[self.kind]
        if self.score is not None and not low <= self.score <= high:
            raise ValueError(f"score for {self.kind} must be between {low} and {high}")
        if self.kind == "nps" and self.score is None:
            raise ValueError("score is required for nps")
        return self


class ComplaintOpenedV1(EventData):
    """A complaint case was opened for the customer. Natural key: case_id."""

    event_type: ClassVar[str] = "complaint-opened"
    dataversion: ClassVar[int] = 1

    case_id: ExternalId
    customer_id: CustomerId
    severity: ComplaintSeverity
    category: Label
    """E.g. `delivery`, `product_quality`, `billing`."""
    sla_due_at: Timestamp | None = None
    """When the case must be resolved by."""
    response_id: ExternalId | None = None
    """The survey response the complaint came from, if any."""


class ComplaintResolvedV1(EventData):
    """A complaint case was closed with a resolution. Natural key: case_id."""

    event_type: ClassVar[str] = "complaint-resolved"
    dataversion: ClassVar[int] = 1

    case_id: ExternalId
    customer_id: CustomerId
    severity: ComplaintSeverity
    category: Label
    sla_due_at: Timestamp | None = None
    resolution: Reason
    """What was done, e.g. `refund issued`, `replacement sent`."""
    resolved_at: Timestamp | None = None
    within_sla: bool | None = None
    """Whether it was resolved by `sla_due_at`; null when there was no SLA."""
