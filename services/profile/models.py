"""Profile's tables: customers and their purchase history."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, MetaData, Numeric, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import BigIntPK, UTCDateTime
from shared.tables import platform_tables


class Base(DeclarativeBase):
    metadata = MetaData()


class Customer(Base):
    __tablename__ = "customers"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(35))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Purchase(Base):
    __tablename__ = "purchases"
    __table_args__ = (
        UniqueConstraint("source", "order_id", name="uq_purchases_source_order"),
        Index("ix_purchases_customer_time", "customer_id", "occurred_at"),
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


tables = platform_tables(Base.metadata)
metadata = Base.metadata
