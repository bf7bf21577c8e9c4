"""Feedback's HTTP routes."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from services.feedback import handlers
from services.feedback.models import Complaint
from services.feedback.schemas import ComplaintCreate, ComplaintRead
from shared.http.auth import require
from shared.http.idempotency import IdempotencyDep
from shared.http.problems import Problem
from shared.service import UowDep

router = APIRouter(tags=["complaints"])


@router.post("/complaints", status_code=201, response_model=ComplaintRead,
             dependencies=[Depends(require("feedback:write"))])
async def open_complaint(body: ComplaintCreate, uow: UowDep, idempotency: IdempotencyDep,
                         request: Request) -> Response:
    """Open a complaint case; its SLA deadline follows from its severity."""
    async with uow:
        async def open_case() -> tuple[int, ComplaintRead]:
            complaint = await handlers.open_complaint(uow, **body.model_dump(),
                                                      sla_hours=request.app.state.settings.sla_hours)
            return 201, ComplaintRead.model_validate(complaint)
        return await idempotency.run(uow, open_case)


@router.get("/complaints/{case_id}", response_model=ComplaintRead, dependencies=[Depends(require("feedback:read"))])
async def get_complaint(case_id: Annotated[str, Path(max_length=64)], uow: UowDep) -> ComplaintRead:
    """One complaint case."""
    async with uow:
        complaint = await uow.session.get(Complaint, case_id)
    if complaint is None:
        raise Problem(404, f"complaint {case_id} not found")
    return ComplaintRead.model_validate(complaint)
