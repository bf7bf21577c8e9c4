"""Routes for complaint cases and their follow-up tasks."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from services.feedback import handlers
from services.feedback.deps import SettingsDep
from services.feedback.errors import not_found
from services.feedback.models import CustomerStanding
from services.feedback.schemas import (
    CaseStatus,
    ComplaintCreate,
    ComplaintRead,
    ComplaintUpdate,
    FollowUpRead,
    NoteCreate,
    NoteRead,
    StandingRead,
    StatusChange,
)
from shared.http.auth import require
from shared.http.idempotency import IdempotencyDep
from shared.http.pagination import Page, PageDep, encode_cursor
from shared.service import UowDep

router = APIRouter(tags=["complaints"])
READ = [Depends(require("feedback:read"))]
WRITE = [Depends(require("feedback:write"))]
CaseIdPath = Annotated[str, Path(max_length=64)]


@router.post("/complaints", status_code=201, response_model=ComplaintRead, dependencies=WRITE)
async def open_complaint(body: ComplaintCreate, uow: UowDep, idempotency: IdempotencyDep,
                         settings: SettingsDep) -> Response:
    """Open a complaint case; its SLA deadline follows from its severity and the customer's tier."""
    async with uow:
        async def open_case() -> tuple[int, ComplaintRead]:
            complaint = await handlers.open_complaint(uow, settings, **body.model_dump())
            return 201, ComplaintRead.model_validate(complaint)
        return await idempotency.run(uow, open_case)


@router.get("/complaints", response_model=Page[ComplaintRead], dependencies=READ)
async def list_complaints(uow: UowDep, page: PageDep, status: CaseStatus | None = None,
                          customer_id: Annotated[str | None, Query(max_length=64)] = None,
                          breached: bool | None = None) -> Page[ComplaintRead]:
    """Cases in id order; `breached=true` lists those flagged past their SLA."""
    after = str(page.after[0]) if page.after else None
    async with uow:
        found = await handlers.list_complaints(uow, limit=page.limit, after=after, status=status,
                                               customer_id=customer_id, breached=breached)
    items = [ComplaintRead.model_validate(c) for c in found[:page.limit]]
    more = len(found) > page.limit
    return Page(items=items, next_cursor=encode_cursor([items[-1].case_id]) if more else None)


@router.get("/complaints/{case_id}", response_model=ComplaintRead, dependencies=READ)
async def get_complaint(case_id: CaseIdPath, uow: UowDep) -> ComplaintRead:
    """One complaint case."""
    async with uow:
        return ComplaintRead.model_validate(await handlers.get_complaint(uow, case_id))


@router.patch("/complaints/{case_id}", response_model=ComplaintRead, dependencies=WRITE)
async def amend_complaint(case_id: CaseIdPath, body: ComplaintUpdate, uow: UowDep) -> ComplaintRead:
    """Assign a case or change its category."""
    async with uow:
        complaint = await handlers.amend_complaint(uow, case_id, body.model_dump(exclude_unset=True))
        await uow.commit()
        return ComplaintRead.model_validate(complaint)


@router.post("/complaints/{case_id}/status", response_model=ComplaintRead, dependencies=WRITE)
async def change_status(case_id: CaseIdPath, body: StatusChange, uow: UowDep, settings: SettingsDep) -> ComplaintRead:
    """Move a case: open → in_progress → resolved → closed, or reopen it; other moves are 409."""
    async with uow:
        complaint = await handlers.change_status(uow, settings, case_id, body.status, resolution=body.resolution)
        await uow.commit()
        return ComplaintRead.model_validate(complaint)


@router.post("/complaints/{case_id}/notes", status_code=201, response_model=NoteRead, dependencies=WRITE)
async def add_note(case_id: CaseIdPath, body: NoteCreate, uow: UowDep) -> NoteRead:
    """Add a note to a case."""
    async with uow:
        note = await handlers.add_note(uow, case_id, text=body.text, author=body.author)
        await uow.commit()
        return NoteRead.model_validate(note)


@router.get("/complaints/{case_id}/notes", response_model=list[NoteRead], dependencies=READ)
async def list_notes(case_id: CaseIdPath, uow: UowDep) -> list[NoteRead]:
    """A case's notes, oldest first."""
    async with uow:
        return [NoteRead.model_validate(n) for n in await handlers.notes_of(uow, case_id)]


@router.get("/follow-ups", response_model=list[FollowUpRead], dependencies=READ)
async def list_follow_ups(uow: UowDep, case_id: Annotated[str | None, Query(max_length=64)] = None,
                          customer_id: Annotated[str | None, Query(max_length=64)] = None,
                          status: Annotated[str | None, Query(pattern="^(open|done)$")] = None) -> list[FollowUpRead]:
    """Follow-up visits (回访) due after resolved cases, soonest first."""
    async with uow:
        tasks = await handlers.follow_ups(uow, case_id=case_id, customer_id=customer_id, status=status)
    return [FollowUpRead.model_validate(t) for t in tasks]


@router.post("/follow-ups/{task_id}/done", response_model=FollowUpRead, dependencies=WRITE)
async def complete_follow_up(task_id: Annotated[str, Path(max_length=64)], uow: UowDep) -> FollowUpRead:
    """Mark a follow-up visit done."""
    async with uow:
        task = await handlers.complete_follow_up(uow, task_id)
        await uow.commit()
        return FollowUpRead.model_validate(task)


@router.get("/customers/{customer_id}/standing", response_model=StandingRead, dependencies=READ)
async def customer_standing(customer_id: Annotated[str, Path(max_length=64)], uow: UowDep) -> StandingRead:
    """What feedback knows of a customer from scoring: tier, churn risk, lifecycle stage."""
    async with uow:
        standing = await uow.session.get(CustomerStanding, customer_id)
    if standing is None:
        raise not_found(f"customer {customer_id}")
    return StandingRead.model_validate(standing)
