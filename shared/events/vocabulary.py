"""The closed vocabularies of DESIGN.md: `Literal` types for payload fields, tuples for code."""
from __future__ import annotations

from typing import Literal, get_args

Tier = Literal["high-value", "potential", "ordinary", "low-value"]
LifecycleStage = Literal["prospect", "first-time", "repeat", "loyal", "at-risk", "churned"]
ChurnRisk = Literal["low", "medium", "high"]
Channel = Literal["email", "sms", "push", "wechat", "phone", "in_app", "webhook"]
# Interactions also happen where nobody is contacted (a web visit, a store visit), so their channel
# vocabulary is the outreach channels plus those places.
InteractionChannel = Literal[
    "email", "sms", "push", "wechat", "phone", "in_app", "webhook",
    "web", "store", "social", "other",
]
InteractionKind = Literal[
    "page_view", "product_view", "cart_add", "email_open", "link_click", "support_contact", "social"
]
FeedbackKind = Literal["nps", "csat", "ces", "other"]
Sentiment = Literal["positive", "neutral", "negative"]
SegmentChange = Literal["entered", "exited"]
ConsentPurpose = Literal["marketing", "service"]
# "undisclosed" is the customer's answer "prefer not to say"; a gender nobody recorded is null.
Gender = Literal["female", "male", "non_binary", "other", "undisclosed"]
ComplaintSeverity = Literal["low", "medium", "high", "critical"]
InvitationPriority = Literal["low", "normal", "high"]

TIERS: tuple[Tier, ...] = get_args(Tier)
LIFECYCLE_STAGES: tuple[LifecycleStage, ...] = get_args(LifecycleStage)
CHURN_RISKS: tuple[ChurnRisk, ...] = get_args(ChurnRisk)
CHANNELS: tuple[Channel, ...] = get_args(Channel)
INTERACTION_KINDS: tuple[InteractionKind, ...] = get_args(InteractionKind)
FEEDBACK_KINDS: tuple[FeedbackKind, ...] = get_args(FeedbackKind)
GENDERS: tuple[Gender, ...] = get_args(Gender)
