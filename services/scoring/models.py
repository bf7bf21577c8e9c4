"""Scoring's tables: per-customer purchase aggregates and the orders already counted."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Integer, MetaData, Numeric, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime
from shared.tables import platform_tables


class Base(DeclarativeBase):
    metadata = MetaData()


class CustomerAggregate(Base):
    __tablename__ = "customer_aggregates"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purchase_count: Mapped[int] = mapped_column(Integer)
    total_spend: Mapped[Decimal] = mapped_column(Numeric(21, 6))
    first_purchase_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_purchase_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CountedOrder(Base):
    """Natural-key dedupe: the same order reported twice (HTTP and Kafka) is counted once."""

    __tablename__ = "counted_orders"

    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)


tables = platform_tables(Base.metadata)
metadata = Base.metadata
