"""Feedback's tables (at this stage: complaint cases)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime
from shared.tables import platform_tables


class Base(DeclarativeBase):
    metadata = MetaData()


class Complaint(Base):
    __tablename__ = "complaints"

    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sla_due_at: Mapped[datetime] = mapped_column(UTCDateTime)


tables = platform_tables(Base.metadata)
metadata = Base.metadata
