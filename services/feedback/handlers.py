"""Use cases of complaint cases: open, assign, annotate, move through their states, sweep SLAs."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update

from services.feedback import domain
from services.feedback.errors import FeedbackError, conflict, not_found
from services.feedback.handlers_invitations import schedule_invitation
from services.feedback.models import CaseNote, Complaint, CustomerStanding, FollowUp
from services.feedback.settings import FeedbackSettings
from shared.db import utcnow
from shared.events.catalogue import ComplaintOpenedV1, ComplaintResolvedV1
from shared.uow import UnitOfWork


async def open_complaint(uow: UnitOfWork, settings: FeedbackSettings, *, customer_id: str, severity: str,
                         category: str, description: str, assignee: str | None = None,
                         response_id: str | None = None, caused_by: object = None) -> Complaint:
    """Open a case; its deadline follows from its severity and the customer's tier."""
    now = utcnow()
    standing = await uow.session.get(CustomerStanding, customer_id)
    tier = standing.tier if standing else None
    complaint = Complaint(
        case_id=f"case-{uuid.uuid4().hex[:12]}", customer_id=customer_id, severity=severity, category=category,
        description=description, status="open", opened_at=now, tier=tier, assignee=assignee,
        response_id=response_id, reopened_count=0,
        sla_due_at=domain.sla_due_at(now, severity, settings.sla_hours, tier=tier,
                                     tier_factors=settings.sla_tier_factors))
    uow.session.add(complaint)
    uow.record(ComplaintOpenedV1(case_id=complaint.case_id, customer_id=customer_id, severity=severity,  # type: ignore[arg-type]
                                 category=category, sla_due_at=complaint.sla_due_at, response_id=response_id),
               caused_by=caused_by)
    return complaint


async def get_complaint(uow: UnitOfWork, case_id: str) -> Complaint:
    complaint = await uow.session.get(Complaint, case_id)
    if complaint is None:
        raise not_found(f"complaint {case_id}")
    return complaint


async def amend_complaint(uow: UnitOfWork, case_id: str, changes: dict[str, str | None]) -> Complaint:
    """Reassign or recategorise a case. Its deadline stays the one promised when it was opened."""
    complaint = await get_complaint(uow, case_id)
    for name, value in changes.items():
        setattr(complaint, name, value)
    return complaint


async def add_note(uow: UnitOfWork, case_id: str, *, text: str, author: str | None) -> CaseNote:
    complaint = await get_complaint(uow, case_id)
    note = CaseNote(case_id=case_id, customer_id=complaint.customer_id, author=author, text=text,
                    created_at=utcnow())
    uow.session.add(note)
    await uow.session.flush()
    return note


async def notes_of(uow: UnitOfWork, case_id: str) -> list[CaseNote]:
    await get_complaint(uow, case_id)
    return list((await uow.session.scalars(
        select(CaseNote).where(CaseNote.case_id == case_id).order_by(CaseNote.id))).all())


async def change_status(uow: UnitOfWork, settings: FeedbackSettings, case_id: str, target: str, *,
                        resolution: str | None = None) -> Complaint:
    complaint = await get_complaint(uow, case_id)
    try:
        complaint.status = domain.transition(complaint.status, target, resolution=resolution)
    except domain.InvalidTransition as exc:
        raise conflict(str(exc), "body.status") from None
    except ValueError as exc:
        raise FeedbackError(422, str(exc), [{"field": "body.resolution", "message": str(exc)}]) from None
    now = utcnow()
    if target == "resolved":
        await _resolved(uow, settings, complaint, resolution or "", now)
    elif target == "closed":
        complaint.closed_at = now
    elif target == "open":
        complaint.reopened_count += 1
        complaint.closed_at = None
    return complaint


async def _resolved(uow: UnitOfWork, settings: FeedbackSettings, complaint: Complaint, resolution: str,
                    now: datetime) -> None:
    """A resolved case gets a follow-up visit (回访) task and, when configured, a satisfaction check."""
    complaint.resolution, complaint.resolved_at = resolution, now
    uow.session.add(FollowUp(task_id=f"fu-{uuid.uuid4().hex[:12]}", case_id=complaint.case_id,
                             customer_id=complaint.customer_id, kind="visit", status="open", created_at=now,
                             due_at=now + timedelta(hours=settings.follow_up_visit_hours)))
    if settings.case_resolved_survey_id:
        await schedule_invitation(
            uow, customer_id=complaint.customer_id, trigger="case-resolved",
            trigger_key=f"case-resolved:{complaint.case_id}:{complaint.reopened_count}",
            survey_id=settings.case_resolved_survey_id, now=now, bypass_cooldown=True,
            due_at=now + timedelta(hours=settings.case_resolved_delay_hours))
    uow.record(ComplaintResolvedV1(
        case_id=complaint.case_id, customer_id=complaint.customer_id, severity=complaint.severity,  # type: ignore[arg-type]
        category=complaint.category, sla_due_at=complaint.sla_due_at, resolution=resolution, resolved_at=now,
        within_sla=domain.within_sla(now, complaint.sla_due_at)))


async def sweep_sla_breaches(uow: UnitOfWork, *, now: datetime) -> int:
    """Flag every case still being worked on after its deadline; each is flagged once."""
    flagged = await uow.session.execute(
        update(Complaint)
        .where(Complaint.status.in_(domain.ACTIVE_STATUSES), Complaint.sla_due_at < now,
               Complaint.sla_breached_at.is_(None))
        .values(sla_breached_at=now))
    return flagged.rowcount or 0


async def list_complaints(uow: UnitOfWork, *, limit: int, after: str | None, status: str | None,
                          customer_id: str | None, breached: bool | None) -> list[Complaint]:
    query = select(Complaint).order_by(Complaint.case_id).limit(limit + 1)
    if after is not None:
        query = query.where(Complaint.case_id > after)
    if status is not None:
        query = query.where(Complaint.status == status)
    if customer_id is not None:
        query = query.where(Complaint.customer_id == customer_id)
    if breached is not None:
        query = query.where(Complaint.sla_breached_at.is_not(None) if breached else Complaint.sla_breached_at.is_(None))
    return list((await uow.session.scalars(query)).all())


async def follow_ups(uow: UnitOfWork, *, case_id: str | None, customer_id: str | None,
                     status: str | None) -> list[FollowUp]:
    query = select(FollowUp).order_by(FollowUp.due_at, FollowUp.task_id).limit(1000)
    for column, value in ((FollowUp.case_id, case_id), (FollowUp.customer_id, customer_id), (FollowUp.status, status)):
        if value is not None:
            query = query.where(column == value)
    return list((await uow.session.scalars(query)).all())


async def complete_follow_up(uow: UnitOfWork, task_id: str) -> FollowUp:
    task = await uow.session.get(FollowUp, task_id)
    if task is None:
        raise not_found(f"follow-up {task_id}")
    if task.status != "done":
        task.status, task.done_at = "done", utcnow()
    return task
