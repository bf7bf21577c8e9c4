"""Feedback's HTTP models."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.events.fields import CustomerId, Label
from shared.events.vocabulary import ComplaintSeverity


class ComplaintCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: CustomerId
    severity: ComplaintSeverity
    category: Label
    description: str = Field(min_length=1, max_length=5000)


class ComplaintRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    case_id: str
    customer_id: str
    severity: str
    category: str
    description: str
    status: str
    opened_at: datetime
    sla_due_at: datetime
