"""Engagement's tables: the customer projection, contact policy and ledger, messages, templates, loyalty."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import BigIntPK, UTCDateTime
from shared.tables import platform_tables


class Base(DeclarativeBase):
    metadata = MetaData()


class PointsEntry(Base):
    """One movement of a customer's points; the balance is their sum."""

    __tablename__ = "loyalty_ledger"
    __table_args__ = (UniqueConstraint("reason", "reference", name="uq_loyalty_ledger_reference"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    points: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(400))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoyaltyAccount(Base):
    """One row per customer who redeemed: locking it serialises redemptions against the balance."""

    __tablename__ = "loyalty_accounts"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class Audience(Base):
    """What engagement knows of a customer, projected from profile's and scoring's events."""

    __tablename__ = "audience"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    timezone: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(35))
    birthday: Mapped[str | None] = mapped_column(String(5))  # MM-DD
    do_not_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    consents: Mapped[list[Any]] = mapped_column(JSON, default=list)  # granted ["channel:purpose", ...]
    tier: Mapped[str | None] = mapped_column(String(16))
    lifecycle_stage: Mapped[str | None] = mapped_column(String(16))
    churn_risk: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SegmentMember(Base):
    __tablename__ = "segment_members"

    segment_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ContactLedger(Base):
    """One row per contacted customer: locking it serialises every replica's send decisions for them."""

    __tablename__ = "contact_ledgers"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class ContactRecord(Base):
    """A contact made (or reserved while its delivery is under way): the history the caps count."""

    __tablename__ = "contact_history"
    __table_args__ = (Index("ix_contact_history_customer_at", "customer_id", "contacted_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(128), unique=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16))
    contacted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PolicyDocument(Base):
    __tablename__ = "contact_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Template(Base):
    """One locale's variant of a message template; `default_locale` marks the fallback."""

    __tablename__ = "templates"

    template_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    locale: Mapped[str] = mapped_column(String(35), primary_key=True)
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Message(Base):
    """One outreach message and its delivery state; the dispatcher leases due rows."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_due", "status", "due_at"),)

    message_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    requested_channel: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16))
    template_id: Mapped[str | None] = mapped_column(String(128))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    campaign_id: Mapped[str | None] = mapped_column(String(128))
    journey_id: Mapped[str | None] = mapped_column(String(128))
    invitation_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))  # queued, sending, sent, suppressed, failed
    reason: Mapped[str | None] = mapped_column(String(500))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_holder: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_status: Mapped[str | None] = mapped_column(String(16))  # delivered, bounced, opened, clicked
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MessageLog(Base):
    """Every decision and delivery step of a message, with its reason."""

    __tablename__ = "message_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(128), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))  # deferred, suppressed, sent, failed, retry, delivered, ...
    reason: Mapped[str | None] = mapped_column(String(500))


class Campaign(Base):
    """A campaign: its audience, variants, holdout and schedule (the definition as posted), and when it runs next."""

    __tablename__ = "campaigns"

    campaign_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # scheduled, done, cancelled
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CampaignMember(Base):
    """Who a campaign run reached or held out, with their A/B arm and message."""

    __tablename__ = "campaign_members"

    campaign_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    run: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    arm: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(128))


class Journey(Base):
    """An event-triggered journey: e.g. on a tier upgrade to high-value, send the VIP welcome; its
    trigger, steps and exit events are the definition as put."""

    __tablename__ = "journeys"

    journey_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    trigger_event: Mapped[str] = mapped_column(String(64), index=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JourneyInstance(Base):
    """One customer's way through a journey, durable across restarts: the step they wait before and until
    when. At most one instance of a journey is active per customer; advancing leases due rows."""

    __tablename__ = "journey_instances"
    __table_args__ = (
        Index("ix_journey_instances_due", "status", "due_at"),
        Index("ix_journey_instances_customer", "customer_id", "status"),
        Index("uq_journey_instances_active", "journey_id", "customer_id", unique=True,
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
    )

    instance_id: Mapped[str] = mapped_column(String(200), primary_key=True)  # journey/customer/cause
    journey_id: Mapped[str] = mapped_column(String(48))
    customer_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # active, completed, exited
    step_id: Mapped[str | None] = mapped_column(String(48))  # the next step; null: from the first
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the starting event, coupon code, ...
    trail: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"step", "at", and what it did}]
    exit_reason: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Coupon(Base):
    """One coupon code of a batch; redeemed at most once."""

    __tablename__ = "coupons"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(48), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    discount: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    redeemed_by: Mapped[str | None] = mapped_column(String(64))
    order_reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Item(Base):
    """A product seen in purchases: how many orders held it (its popularity)."""

    __tablename__ = "items"

    sku: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(64), index=True)
    orders: Mapped[int] = mapped_column(Integer, default=0)


class ItemPair(Base):
    """How many orders held both items (stored in both directions)."""

    __tablename__ = "item_pairs"

    sku: Mapped[str] = mapped_column(String(128), primary_key=True)
    other_sku: Mapped[str] = mapped_column(String(128), primary_key=True)
    orders: Mapped[int] = mapped_column(Integer, default=0)


class CustomerItem(Base):
    """What a customer bought, for recommendations (not again) and category affinity."""

    __tablename__ = "customer_items"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(128), primary_key=True)
    category: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer, default=0)


tables = platform_tables(Base.metadata)
metadata = Base.metadata
