"""Profile's tables: customers, their identities and consents, and what they bought and did.

Personal data (name, e-mail, phone, address) is one sealed blob per customer (`personal_data`); the
keyed digests in `customer_search_keys` make it searchable without decrypting anything.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, WriteOnlyMapped, mapped_column, relationship

from shared.db import BigIntPK, UTCDateTime
from shared.tables import platform_tables


class Base(DeclarativeBase):
    metadata = MetaData()


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_region", "region"),
        Index("ix_customers_country", "country"),
        Index("ix_customers_birthday", "birthday"),
    )

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    timezone: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(35))
    birthday: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(16))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    do_not_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    personal_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    merged_into: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tags: Mapped[list[CustomerTag]] = relationship(lazy="raise", cascade="all, delete-orphan")
    external_ids: Mapped[list[ExternalIdentity]] = relationship(lazy="raise", cascade="all, delete-orphan")
    search_keys: Mapped[list[SearchKey]] = relationship(lazy="raise", cascade="all, delete-orphan")
    consents: Mapped[list[Consent]] = relationship(lazy="raise", cascade="all, delete-orphan")
    # Append-only and possibly long: never loaded through the customer, only added to.
    consent_history: WriteOnlyMapped[ConsentHistory] = relationship(cascade="save-update")


class CustomerTag(Base):
    __tablename__ = "customer_tags"
    __table_args__ = (Index("ix_customer_tags_tag", "tag", "customer_id"),)

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)


class ExternalIdentity(Base):
    """An id another system gives the customer; a customer may have several per source."""

    __tablename__ = "customer_external_ids"
    __table_args__ = (Index("ix_customer_external_ids_lookup", "source", "external_id"),)

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), primary_key=True)


class SearchKey(Base):
    """A keyed digest (HMAC) of a normalised personal value: `email`, `phone` or `name`."""

    __tablename__ = "customer_search_keys"
    __table_args__ = (Index("ix_customer_search_keys_lookup", "kind", "digest"),)

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)


class Consent(Base):
    """The customer's current answer for one channel and purpose."""

    __tablename__ = "customer_consents"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConsentHistory(Base):
    """Every consent answer ever given, including those a later answer superseded."""

    __tablename__ = "consent_history"
    __table_args__ = (Index("ix_consent_history_customer", "customer_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"))
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(16))
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Purchase(Base):
    __tablename__ = "purchases"
    __table_args__ = (
        UniqueConstraint("source", "order_id", name="uq_purchases_source_order"),
        Index("ix_purchases_customer_time", "customer_id", "occurred_at"),
        # Segment windows ("bought in the last 90 days") scan by time; the amount rides along so
        # counts and sums need not visit the table.
        Index("ix_purchases_time_customer", "occurred_at", "customer_id", "total_amount"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(200))
    order_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[str] = mapped_column(String(64), ForeignKey("customers.customer_id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    total_amount: Mapped[Decimal] = mapped_column(Numeric(21, 6))
    currency: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str | None] = mapped_column(String(64))
    store_id: Mapped[str | None] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PurchaseItem(Base):
    __tablename__ = "purchase_items"

    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id", ondelete="CASCADE"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(128))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(21, 6))


class Refund(Base):
    """Money returned on an order; `refund_key` is the refund id, or (occurred_at, amount) without one."""

    __tablename__ = "refunds"
    __table_args__ = (
        UniqueConstraint("purchase_id", "refund_key", name="uq_refunds_purchase_key"),
        Index("ix_refunds_customer_time", "customer_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id", ondelete="CASCADE"))
    refund_key: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[str] = mapped_column(String(64), ForeignKey("customers.customer_id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    amount: Mapped[Decimal] = mapped_column(Numeric(21, 6))
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(String(500))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_customer_time", "customer_id", "occurred_at"),
        Index("ix_interactions_kind_time", "kind", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    interaction_id: Mapped[str] = mapped_column(String(128), unique=True)
    customer_id: Mapped[str] = mapped_column(String(64), ForeignKey("customers.customer_id"))
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CustomerScore(Base):
    """Projection of scoring's events: the latest tier, stage, CLV and churn risk (no foreign key:
    scoring may speak of a customer before profile has stored them)."""

    __tablename__ = "customer_scores"
    __table_args__ = (
        Index("ix_customer_scores_tier", "tier"),
        Index("ix_customer_scores_stage", "lifecycle_stage"),
    )

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tier: Mapped[str | None] = mapped_column(String(16))
    clv: Mapped[Decimal | None] = mapped_column(Numeric(21, 6))
    clv_currency: Mapped[str | None] = mapped_column(String(3))
    tier_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifecycle_stage: Mapped[str | None] = mapped_column(String(16))
    stage_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    churn_risk: Mapped[str | None] = mapped_column(String(8))
    p_alive: Mapped[float | None] = mapped_column()
    risk_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CustomerFeedback(Base):
    """Projection of feedback-received: the latest score per kind (nps, csat, ces)."""

    __tablename__ = "customer_feedback"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    score: Mapped[int | None] = mapped_column(SmallInteger)
    response_id: Mapped[str] = mapped_column(String(128))
    responded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AttributeDefinition(Base):
    """The type a custom attribute took when first set; later values must keep it, so that segments
    can compare it as a number, text or boolean on every row."""

    __tablename__ = "attribute_definitions"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Segment(Base):
    __tablename__ = "segments"

    segment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(String(2000))
    kind: Mapped[str] = mapped_column(String(8))  # dynamic (a condition tree) or static (an uploaded list)
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SegmentMembership(Base):
    """One stay of a customer in a segment; open while `exited_at` is null. The rows answer both
    "who is in it now" and "who was in it at time X"."""

    __tablename__ = "segment_memberships"
    __table_args__ = (
        Index("ix_segment_memberships_current", "segment_id", "exited_at", "customer_id"),
        Index("ix_segment_memberships_customer", "customer_id", "exited_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    segment_id: Mapped[str] = mapped_column(ForeignKey("segments.segment_id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    exited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SegmentDirtyCustomer(Base):
    """Customers whose data changed since segments were last brought up to date for them."""

    __tablename__ = "segment_dirty_customers"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)


tables = platform_tables(Base.metadata)
metadata = Base.metadata
