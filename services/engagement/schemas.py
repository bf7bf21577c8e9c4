"""Engagement's HTTP models."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class PointsEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    points: int
    reason: str
    reference: str
    occurred_at: datetime


class LoyaltyRead(BaseModel):
    customer_id: str
    balance: int
    recent: list[PointsEntryRead]
