"""Feedback's use cases."""
from __future__ import annotations

import uuid

from sqlalchemy import delete

from services.feedback.domain import sla_due_at
from services.feedback.models import Complaint
from shared.db import utcnow
from shared.events.catalogue import ComplaintOpenedV1
from shared.uow import UnitOfWork


async def open_complaint(uow: UnitOfWork, *, customer_id: str, severity: str, category: str, description: str,
                         sla_hours: dict[str, int]) -> Complaint:
    now = utcnow()
    complaint = Complaint(case_id=f"case-{uuid.uuid4().hex[:12]}", customer_id=customer_id, severity=severity,
                          category=category, description=description, status="open", opened_at=now,
                          sla_due_at=sla_due_at(now, severity, sla_hours))
    uow.session.add(complaint)
    uow.record(ComplaintOpenedV1(case_id=complaint.case_id, customer_id=customer_id, severity=severity,  # type: ignore[arg-type]
                                 category=category, sla_due_at=complaint.sla_due_at))
    return complaint


async def forget_customer(uow: UnitOfWork, customer_id: str) -> None:
    await uow.session.execute(delete(Complaint).where(Complaint.customer_id == customer_id))
