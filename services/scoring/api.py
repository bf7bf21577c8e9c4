"""Scoring's HTTP routes for customers' scores, their history and the RFM recompute."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy import func, select

from services.scoring import reasons as explain
from services.scoring.models import Complaint, CustomerAggregate, CustomerScore, RfmCutPointsRow, ScoreChange
from services.scoring.repository import resolve_aliases
from services.scoring.rescoring import rescore_everybody
from services.scoring.schemas import (
    CutPointsRead,
    ReasonsRead,
    RescoreRead,
    RfmRead,
    ScoreChangeRead,
    ScoreRead,
)
from shared.db import utcnow
from shared.events.fields import CUSTOMER_ID_PATTERN
from shared.http.auth import require
from shared.http.pagination import Page, PageDep, encode_cursor
from shared.http.problems import Problem
from shared.service import UowDep

router = APIRouter(tags=["scores"])
CustomerIdPath = Annotated[str, Path(pattern=CUSTOMER_ID_PATTERN, max_length=64)]
_CENT = Decimal("0.01")


@router.get("/scores/{customer_id}", response_model=ScoreRead, dependencies=[Depends(require("scoring:read"))])
async def get_score(customer_id: CustomerIdPath, uow: UowDep, request: Request) -> ScoreRead:
    """The customer's RFM, CLV, tier, lifecycle stage and churn risk, with the numbers behind them."""
    async with uow:
        customer_id = (await resolve_aliases(uow.session, [customer_id])).get(customer_id, customer_id)
        aggregate = await uow.session.get(CustomerAggregate, customer_id)
        score = await uow.session.get(CustomerScore, customer_id)
        open_complaints = await uow.session.scalar(select(func.count()).select_from(Complaint).where(
            Complaint.customer_id == customer_id, Complaint.opened_at.is_not(None), Complaint.resolved_at.is_(None)))
    if aggregate is None or score is None:
        raise Problem(404, f"scoring knows no customer {customer_id}")
    return _score_read(aggregate, score, int(open_complaints or 0), request.app.state.settings)


def _score_read(aggregate: CustomerAggregate, score: CustomerScore, open_complaints: int, settings: Any) -> ScoreRead:
    numbers = {column: getattr(score, column) for column in (
        "recency_days", "r", "f", "m", "segment", "p_alive", "value_percentile", "usual_gap_days", "stage")}
    policy = settings.policy()
    detractor = aggregate.last_nps if aggregate.last_nps is not None and \
        aggregate.last_nps <= policy.churn.detractor_max_nps else None
    rfm = None
    if score.r is not None:
        rfm = RfmRead(r=score.r, f=score.f or 1, m=score.m or 1, segment=score.segment or "",
                      recency_days=score.recency_days or 0, frequency=aggregate.purchase_days,
                      monetary=_money(float(aggregate.total_spend) / max(aggregate.purchase_days, 1)))
    reasons = ReasonsRead(
        tier=explain.tier_reasons(numbers, policy, "CLV" if score.clv is not None else "net spend")
        if score.tier else [],
        stage=explain.stage_reasons(numbers, aggregate.purchase_days, policy),
        churn_risk=explain.churn_reasons(numbers, detractor, open_complaints) if score.churn_risk else [])
    return ScoreRead(
        customer_id=aggregate.customer_id, purchase_count=aggregate.purchase_count,
        purchase_days=aggregate.purchase_days, total_spend=aggregate.total_spend, refunded=aggregate.refunded,
        currency=settings.base_currency, first_purchase_at=aggregate.first_purchase_at,
        last_purchase_at=aggregate.last_purchase_at, rfm=rfm, p_alive=score.p_alive,
        expected_purchases_90d=score.expected_purchases_90d, expected_spend=_money(score.expected_spend),
        clv=_money(score.clv), value_percentile=score.value_percentile, tier=score.tier,  # type: ignore[arg-type]
        lifecycle_stage=score.stage, churn_risk=score.churn_risk,  # type: ignore[arg-type]
        open_complaints=open_complaints, last_nps=aggregate.last_nps, reasons=reasons,
        model_version=score.model_version, scored_at=score.scored_at)


def _money(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(_CENT)


@router.get("/scores/{customer_id}/history", response_model=Page[ScoreChangeRead],
            dependencies=[Depends(require("scoring:read"))])
async def get_history(customer_id: CustomerIdPath, uow: UowDep, page: PageDep) -> Page[ScoreChangeRead]:
    """Every tier, lifecycle-stage and churn-risk change of the customer, oldest first, with its reasons."""
    query = select(ScoreChange).where(ScoreChange.customer_id == customer_id).order_by(ScoreChange.id)
    if page.after:
        query = query.where(ScoreChange.id > int(page.after[0]))
    async with uow:
        rows = list((await uow.session.execute(query.limit(page.limit + 1))).scalars())
    items = [ScoreChangeRead.model_validate(row, from_attributes=True) for row in rows[:page.limit]]
    return Page(items=items, next_cursor=encode_cursor([items[-1].id]) if len(rows) > page.limit else None)


@router.post("/rfm/recompute", response_model=RescoreRead, dependencies=[Depends(require("scoring:write"))])
async def recompute(uow: UowDep, request: Request) -> RescoreRead:
    """Recompute the RFM cut points from the whole population and rescore every customer now."""
    async with uow:
        summary = await rescore_everybody(uow, request.app.state.scoring_config, utcnow())
        await uow.commit()
    return RescoreRead(**summary.__dict__)


@router.get("/rfm/cut-points", response_model=CutPointsRead, dependencies=[Depends(require("scoring:read"))],
            responses={404: {"description": "No cut points computed yet"}})
async def cut_points(uow: UowDep) -> CutPointsRead:
    """The cut points that new purchases are scored against."""
    async with uow:
        row = await uow.session.get(RfmCutPointsRow, "current")
    if row is None:
        raise Problem(404, "no cut points yet: no customer has bought")
    return CutPointsRead(bins=row.bins, recency_days=row.recency, frequency=row.frequency, monetary=row.monetary,
                         customers=row.customers, computed_at=row.computed_at)
