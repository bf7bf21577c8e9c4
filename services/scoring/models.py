"""Scoring's tables: facts from events (orders, refunds, feedback), per-customer aggregates and scores,
the RFM cut points, the CLV models and their fit jobs."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, MetaData, Numeric, SmallInteger, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import BigIntPK, UTCDateTime
from shared.tables import platform_tables

Amount = Numeric(21, 6)


class Base(DeclarativeBase):
    metadata = MetaData()


class CustomerAggregate(Base):
    """Everything scoring knows about a customer, recomputed from the orders and refunds on each change."""

    __tablename__ = "customer_aggregates"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purchase_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Distinct UTC days with a purchase not wholly refunded: frequency = purchase_days - 1.
    purchase_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    total_spend: Mapped[Decimal] = mapped_column(Amount, default=0, server_default="0")
    refunded: Mapped[Decimal] = mapped_column(Amount, default=0, server_default="0")
    first_purchase_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_purchase_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_purchase_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_purchase_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_nps: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    last_nps_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CountedOrder(Base):
    """Natural-key dedupe: the same order reported twice (HTTP and Kafka) is counted once."""

    __tablename__ = "counted_orders"

    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    amount: Mapped[Decimal] = mapped_column(Amount, default=0, server_default="0")
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    day: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Refund(Base):
    """A refund, kept even when its order is unknown yet: it counts once the order arrives."""

    __tablename__ = "refunds"
    __table_args__ = (Index("ix_refunds_order", "source", "order_id"),)

    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    refund_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    amount: Mapped[Decimal] = mapped_column(Amount)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Complaint(Base):
    """Open while opened and not resolved; either event may arrive first."""

    __tablename__ = "complaints"

    case_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str] = mapped_column(String(20))
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CustomerAlias(Base):
    """A merged customer's id, so that its late events count for the surviving customer."""

    __tablename__ = "customer_aliases"

    merged_customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    surviving_customer_id: Mapped[str] = mapped_column(String(64), index=True)


class CustomerScore(Base):
    """The customer's latest scores; the numbers that explain them are kept beside them."""

    __tablename__ = "customer_scores"
    # Room on each page for the rescore's new row versions (HOT updates: no index write); migration 0004.
    __table_args__ = {"postgresql_with": {"fillfactor": 50}}

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    recency_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    r: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    f: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    m: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    segment: Mapped[str | None] = mapped_column(String(32), nullable=True)
    p_alive: Mapped[float | None] = mapped_column(Float, nullable=True)
    expected_purchases_90d: Mapped[float | None] = mapped_column(Float, nullable=True)
    expected_spend: Mapped[float | None] = mapped_column(Float, nullable=True)
    clv: Mapped[float | None] = mapped_column(Float, nullable=True)
    value_percentile: Mapped[float | None] = mapped_column(Float, nullable=True)
    usual_gap_days: Mapped[float | None] = mapped_column(Float, nullable=True)
    tier: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    stage: Mapped[str] = mapped_column(String(20), index=True)
    churn_risk: Mapped[str | None] = mapped_column(String(10), nullable=True)
    model_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: When these values were written: a rescore that finds a customer's scores unchanged leaves the row alone.
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Digest of the values above (scorer.fingerprints), read instead of them to tell what changed.
    fingerprint: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ScoreChange(Base):
    """History: every tier, stage and churn-risk change with its time and reasons."""

    __tablename__ = "score_changes"
    __table_args__ = (Index("ix_score_changes_customer", "customer_id", "id"),
                      Index("ix_score_changes_kind_at", "kind", "at"))

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))  # tier, stage, churn-risk
    previous: Mapped[str | None] = mapped_column(String(20), nullable=True)
    current: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    model_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class RfmCutPointsRow(Base):
    """The latest cut points (one row, name = 'current')."""

    __tablename__ = "rfm_cut_points"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    bins: Mapped[int] = mapped_column(SmallInteger)
    recency: Mapped[list[float]] = mapped_column(JSON)
    frequency: Mapped[list[float]] = mapped_column(JSON)
    monetary: Mapped[list[float]] = mapped_column(JSON)
    spend: Mapped[list[float]] = mapped_column(JSON)
    clv: Mapped[list[float] | None] = mapped_column(JSON, nullable=True)
    customers: Mapped[int] = mapped_column(BigInteger)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClvModelRow(Base):
    """A fitted CLV model: the newest is the current one."""

    __tablename__ = "clv_models"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(20))
    time_unit: Mapped[str] = mapped_column(String(10))
    transaction_params: Mapped[dict[str, float]] = mapped_column(JSON)
    spend_params: Mapped[dict[str, float]] = mapped_column(JSON)
    log_likelihood: Mapped[float] = mapped_column(Float)
    spend_log_likelihood: Mapped[float] = mapped_column(Float)
    customers: Mapped[int] = mapped_column(BigInteger)
    repeat_customers: Mapped[int] = mapped_column(BigInteger)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[float] = mapped_column(Float)
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ClvFitJob(Base):
    __tablename__ = "clv_fit_jobs"

    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(12))  # queued, running, succeeded, failed
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    model_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


tables = platform_tables(Base.metadata)
metadata = Base.metadata
