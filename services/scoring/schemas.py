"""Scoring's HTTP models."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel


class ScoreRead(BaseModel):
    customer_id: str
    purchase_count: int
    total_spend: Decimal
    currency: str
    first_purchase_at: datetime
    last_purchase_at: datetime
