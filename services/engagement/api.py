"""Engagement's HTTP routes."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy import func, select

from services.engagement.models import PointsEntry
from services.engagement.schemas import LoyaltyRead, PointsEntryRead
from shared.events.fields import CUSTOMER_ID_PATTERN
from shared.http.auth import require
from shared.service import UowDep

router = APIRouter(tags=["loyalty"])


@router.get("/loyalty/{customer_id}", response_model=LoyaltyRead, dependencies=[Depends(require("engagement:read"))])
async def get_loyalty(customer_id: Annotated[str, Path(pattern=CUSTOMER_ID_PATTERN, max_length=64)],
                      uow: UowDep) -> LoyaltyRead:
    """The customer's points balance and latest movements."""
    async with uow:
        balance = await uow.session.scalar(
            select(func.coalesce(func.sum(PointsEntry.points), 0)).where(PointsEntry.customer_id == customer_id))
        recent = (await uow.session.scalars(
            select(PointsEntry).where(PointsEntry.customer_id == customer_id)
            .order_by(PointsEntry.occurred_at.desc(), PointsEntry.id.desc()).limit(20))).all()
    return LoyaltyRead(customer_id=customer_id, balance=int(balance or 0),
                       recent=[PointsEntryRead.model_validate(e) for e in recent])
