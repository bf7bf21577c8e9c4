"""A realistic payload per registered (type, dataversion), for the generated docs and tests."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from shared.events.catalogue import (
    CATALOGUE,
    ChurnRiskChangedV1,
    ComplaintOpenedV1,
    ComplaintResolvedV1,
    ConsentV1,
    CustomerErasedV1,
    CustomerMergedV1,
    CustomerRegisteredV1,
    CustomerUpdatedV1,
    FeedbackReceivedV1,
    InteractionRecordedV1,
    LifecycleStageChangedV1,
    OutreachFailedV1,
    OutreachSentV1,
    OutreachSuppressedV1,
    PurchaseItemV1,
    PurchaseRecordedV1,
    PurchaseRefundedV1,
    RfmV1,
    SegmentMembershipChangedV1,
    SurveyInvitedV1,
    TierChangedV1,
)
from shared.events.envelope import CloudEvent, EventData, new_event

CUSTOMER = "C-1001"
EXAMPLE_TIME = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
_AT = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
_CONSENTS = [
    ConsentV1(channel="email", purpose="marketing", granted=True),
    ConsentV1(channel="sms", purpose="marketing", granted=False),
    ConsentV1(channel="email", purpose="service", granted=True),
]
_PROFILE = dict(
    customer_id=CUSTOMER,
    region="FR-IDF",
    timezone="Europe/Paris",
    locale="fr-FR",
    birthday="02-29",
    gender="female",
    consents=_CONSENTS,
    tags=["newsletter"],
)
_OUTREACH = dict(
    message_id="msg-7f3a", customer_id=CUSTOMER, campaign_id="spring-sale", channel="email"
)

EXAMPLES: dict[tuple[str, int], EventData] = {
    ("purchase-recorded", 1): PurchaseRecordedV1(
        order_id="WEB-20250314-0042",
        customer_id=CUSTOMER,
        occurred_at=_AT,
        total_amount=Decimal("54.90"),
        currency="EUR",
        items=[
            PurchaseItemV1(sku="TEA-GRN-250", name="Green tea 250 g", category="tea",
                           quantity=2, unit_price=Decimal("12.50")),
            PurchaseItemV1(sku="MUG-STONE", name="Stoneware mug", category="tableware",
                           quantity=1, unit_price=Decimal("34.90")),
        ],
        channel="web",
    ),
    ("purchase-refunded", 1): PurchaseRefundedV1(
        order_id="WEB-20250314-0042", customer_id=CUSTOMER, occurred_at=_AT,
        amount=Decimal("12.50"), currency="EUR", reason="damaged in transit", refund_id="RF-981",
    ),
    ("customer-registered", 1): CustomerRegisteredV1(**_PROFILE),
    ("customer-updated", 1): CustomerUpdatedV1(**_PROFILE, changed_fields=["consents"]),
    ("customer-merged", 1): CustomerMergedV1(
        surviving_customer_id=CUSTOMER, merged_customer_id="guest:5521"
    ),
    ("customer-erased", 1): CustomerErasedV1(customer_id=CUSTOMER),
    ("interaction-recorded", 1): InteractionRecordedV1(
        interaction_id="int-88211", customer_id=CUSTOMER, kind="product_view", channel="web",
        occurred_at=_AT, properties={"sku": "TEA-GRN-250", "dwell_seconds": 42},
    ),
    ("segment-membership-changed", 1): SegmentMembershipChangedV1(
        segment_id="seg-tea-lovers", segment_name="Tea lovers", customer_id=CUSTOMER,
        change="entered", at=_AT,
    ),
    ("tier-changed", 1): TierChangedV1(
        customer_id=CUSTOMER, previous_tier="potential", tier="high-value",
        rfm=RfmV1(r=5, f=4, m=5, recency_days=0, frequency=7, monetary=Decimal("61.20")),
        clv=Decimal("812.40"), currency="EUR", p_alive=0.93,
        reasons=["7 orders in 12 months", "predicted CLV in the top 10%"],
        model_version="bgnbd-gg-2025-03",
    ),
    ("lifecycle-stage-changed", 1): LifecycleStageChangedV1(
        customer_id=CUSTOMER, previous_stage="repeat", stage="loyal",
        reasons=["7 orders, regular rhythm"],
    ),
    ("churn-risk-changed", 1): ChurnRiskChangedV1(
        customer_id=CUSTOMER, previous_risk="medium", risk="low", p_alive=0.93,
        reasons=["purchased within the usual interval"],
    ),
    ("survey-invited", 1): SurveyInvitedV1(
        invitation_id="inv-3301", customer_id=CUSTOMER, survey_id="post-purchase-nps",
        survey_name="How was your order?", url="https://feedback.example.com/s/tok_9d2c",
        expires_at=datetime(2025, 3, 28, 9, 30, tzinfo=UTC), priority="normal",
    ),
    ("feedback-received", 1): FeedbackReceivedV1(
        response_id="resp-5120", customer_id=CUSTOMER, survey_id="post-purchase-nps",
        invitation_id="inv-3301", kind="nps", score=9, comment="Fast delivery, lovely tea.",
        sentiment="positive", themes=["delivery", "product"], responded_at=_AT,
    ),
    ("complaint-opened", 1): ComplaintOpenedV1(
        case_id="case-77", customer_id=CUSTOMER, severity="medium", category="delivery",
        sla_due_at=datetime(2025, 3, 16, 9, 30, tzinfo=UTC),
    ),
    ("complaint-resolved", 1): ComplaintResolvedV1(
        case_id="case-77", customer_id=CUSTOMER, severity="medium", category="delivery",
        sla_due_at=datetime(2025, 3, 16, 9, 30, tzinfo=UTC), resolution="refund issued",
        resolved_at=_AT, within_sla=True,
    ),
    ("outreach-sent", 1): OutreachSentV1(**_OUTREACH, template_id="tpl-spring-fr"),
    ("outreach-suppressed", 1): OutreachSuppressedV1(**_OUTREACH, reason="frequency_cap"),
    ("outreach-failed", 1): OutreachFailedV1(**_OUTREACH, reason="invalid_address"),
}


def example_event(event_type: str, dataversion: int) -> CloudEvent:
    """The example payload in an envelope with a fixed id and time, so generated docs are stable."""
    producer = CATALOGUE[event_type].producers[-1]
    return new_event(
        EXAMPLES[(event_type, dataversion)],
        source=f"/services/{producer}",
        event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"cvp-example:{event_type}:{dataversion}")),
        time=EXAMPLE_TIME,
        correlation_id="req-4f1b9c",
    )
