"""Scoring's HTTP routes."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from services.scoring.models import CustomerAggregate
from services.scoring.schemas import ScoreRead
from shared.events.fields import CUSTOMER_ID_PATTERN
from shared.http.auth import require
from shared.http.problems import Problem
from shared.service import UowDep

router = APIRouter(tags=["scores"])


@router.get("/scores/{customer_id}", response_model=ScoreRead, dependencies=[Depends(require("scoring:read"))])
async def get_score(customer_id: Annotated[str, Path(pattern=CUSTOMER_ID_PATTERN, max_length=64)], uow: UowDep,
                    request: Request) -> ScoreRead:
    """The customer's purchase aggregates as scoring sees them."""
    async with uow:
        aggregate = await uow.session.get(CustomerAggregate, customer_id)
    if aggregate is None:
        raise Problem(404, f"no purchases scored for customer {customer_id}")
    return ScoreRead(customer_id=customer_id, purchase_count=aggregate.purchase_count,
                     total_spend=aggregate.total_spend, currency=request.app.state.settings.base_currency,
                     first_purchase_at=aggregate.first_purchase_at, last_purchase_at=aggregate.last_purchase_at)
