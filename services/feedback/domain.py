"""Feedback's rules for complaint deadlines."""
from __future__ import annotations

from datetime import datetime, timedelta


def sla_due_at(opened_at: datetime, severity: str, sla_hours: dict[str, int]) -> datetime:
    """A complaint must be answered within the hours its severity allows."""
    return opened_at + timedelta(hours=sla_hours[severity])
