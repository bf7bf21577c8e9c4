"""Event catalogue, version 1: one payload model per event type, and who produces and consumes it.

The models live in one module per producer; this module is where callers import them from.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.events.catalogue_engagement import (
    OutreachFailedV1,
    OutreachSentV1,
    OutreachSuppressedV1,
)
from shared.events.catalogue_feedback import (
    ComplaintOpenedV1,
    ComplaintResolvedV1,
    FeedbackReceivedV1,
    SurveyInvitedV1,
)
from shared.events.catalogue_profile import (
    ConsentV1,
    CustomerErasedV1,
    CustomerMergedV1,
    CustomerRegisteredV1,
    CustomerUpdatedV1,
    InteractionRecordedV1,
    SegmentMembershipChangedV1,
)
from shared.events.catalogue_purchases import PurchaseItemV1, PurchaseRecordedV1, PurchaseRefundedV1
from shared.events.catalogue_scoring import (
    ChurnRiskChangedV1,
    LifecycleStageChangedV1,
    RfmV1,
    TierChangedV1,
)

__all__ = [
    "CATALOGUE",
    "ChurnRiskChangedV1",
    "ComplaintOpenedV1",
    "ComplaintResolvedV1",
    "ConsentV1",
    "CustomerErasedV1",
    "CustomerMergedV1",
    "CustomerRegisteredV1",
    "CustomerUpdatedV1",
    "EventSpec",
    "FeedbackReceivedV1",
    "InteractionRecordedV1",
    "LifecycleStageChangedV1",
    "OutreachFailedV1",
    "OutreachSentV1",
    "OutreachSuppressedV1",
    "PurchaseItemV1",
    "PurchaseRecordedV1",
    "PurchaseRefundedV1",
    "RfmV1",
    "SegmentMembershipChangedV1",
    "SurveyInvitedV1",
    "TierChangedV1",
]

EXTERNAL = "external systems"
PROFILE, SCORING, ENGAGEMENT, FEEDBACK = "profile", "scoring", "engagement", "feedback"


@dataclass(frozen=True)
class EventSpec:
    """What the docs say about an event type, whatever its dataversion."""

    description: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]


# In DESIGN.md order; the docs list topics in this order.
CATALOGUE: dict[str, EventSpec] = {
    "purchase-recorded": EventSpec(
        "A customer completed an order (from e-commerce, POS, ERP, or POST /purchases).",
        (EXTERNAL, PROFILE),
        (PROFILE, SCORING, ENGAGEMENT, FEEDBACK),
    ),
    "purchase-refunded": EventSpec(
        "Money was returned to a customer on an earlier order.",
        (EXTERNAL, PROFILE),
        (PROFILE, SCORING, ENGAGEMENT),
    ),
    "customer-registered": EventSpec(
        "A customer profile was created; carries the attributes other services may keep.",
        (PROFILE,),
        (SCORING, ENGAGEMENT, FEEDBACK),
    ),
    "customer-updated": EventSpec(
        "A customer's shareable attributes (region, timezone, locale, consents, ...) changed.",
        (PROFILE,),
        (SCORING, ENGAGEMENT, FEEDBACK),
    ),
    "customer-merged": EventSpec(
        "Two profiles were merged; the merged customer_id now means the surviving one.",
        (PROFILE,),
        (SCORING, ENGAGEMENT, FEEDBACK),
    ),
    "customer-erased": EventSpec(
        "A customer was erased; every service purges what it holds about them.",
        (PROFILE,),
        (SCORING, ENGAGEMENT, FEEDBACK),
    ),
    "interaction-recorded": EventSpec(
        "A customer interacted without buying (page or product view, cart add, open, click, ...).",
        (PROFILE,),
        (SCORING, ENGAGEMENT),
    ),
    "segment-membership-changed": EventSpec(
        "A customer entered or left a segment.",
        (PROFILE,),
        (ENGAGEMENT,),
    ),
    "tier-changed": EventSpec(
        "A customer's value tier changed, with the RFM scores, CLV and reasons behind it.",
        (SCORING,),
        (PROFILE, ENGAGEMENT, FEEDBACK),
    ),
    "lifecycle-stage-changed": EventSpec(
        "A customer's lifecycle stage changed.",
        (SCORING,),
        (PROFILE, ENGAGEMENT, FEEDBACK),
    ),
    "churn-risk-changed": EventSpec(
        "A customer's churn risk changed.",
        (SCORING,),
        (PROFILE, ENGAGEMENT, FEEDBACK),
    ),
    "survey-invited": EventSpec(
        "A customer should be invited to a survey; engagement delivers the invitation.",
        (FEEDBACK,),
        (ENGAGEMENT,),
    ),
    "feedback-received": EventSpec(
        "A customer answered a survey or gave feedback (score, comment, sentiment, themes).",
        (FEEDBACK,),
        (PROFILE, SCORING, ENGAGEMENT),
    ),
    "complaint-opened": EventSpec(
        "A complaint case was opened for a customer.",
        (FEEDBACK,),
        (PROFILE, SCORING, ENGAGEMENT),
    ),
    "complaint-resolved": EventSpec(
        "A complaint case was resolved.",
        (FEEDBACK,),
        (PROFILE, SCORING, ENGAGEMENT),
    ),
    "outreach-sent": EventSpec(
        "An outreach message was handed to its channel provider.",
        (ENGAGEMENT,),
        (PROFILE, FEEDBACK),
    ),
    "outreach-suppressed": EventSpec(
        "An outreach message was not sent because consent or contact policy forbade it.",
        (ENGAGEMENT,),
        (PROFILE, FEEDBACK),
    ),
    "outreach-failed": EventSpec(
        "An outreach message could not be delivered.",
        (ENGAGEMENT,),
        (PROFILE, FEEDBACK),
    ),
}
