"""Engagement's tables (at this stage: the loyalty points ledger)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, MetaData, String, UniqueConstraint
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


tables = platform_tables(Base.metadata)
metadata = Base.metadata
