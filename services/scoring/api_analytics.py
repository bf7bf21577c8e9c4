"""Scoring's analytics: tiers, the R x F grid, the CLV distribution and lifecycle flows."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import func, select

from services.scoring.lifecycle import STAGE_ORDER
from services.scoring.models import CustomerAggregate, CustomerScore, ScoreChange
from services.scoring.tiers import TIERS_BY_RANK
from shared.db import utcnow
from shared.http.auth import require
from shared.http.problems import Problem
from shared.service import UowDep

router = APIRouter(prefix="/analytics", tags=["analytics"], dependencies=[Depends(require("scoring:read"))])


class TierRow(BaseModel):
    tier: str
    customers: int
    revenue: float
    revenue_share: float
    average_clv: float | None


class RfmCell(BaseModel):
    r: int
    f: int
    customers: int
    average_spend: float | None


class ClvDistribution(BaseModel):
    customers: int
    mean: float | None
    quantiles: dict[str, float]
    histogram: list[dict[str, float]]


class StageFlow(BaseModel):
    previous: str | None
    current: str
    customers: int


class LifecycleRead(BaseModel):
    counts: dict[str, int]
    since: datetime
    until: datetime
    flows: list[StageFlow]


@router.get("/tiers", response_model=list[TierRow])
async def tiers(uow: UowDep) -> list[TierRow]:
    """Customers, net revenue, revenue share and average CLV per value tier."""
    query = (select(CustomerScore.tier, func.count(), func.sum(CustomerAggregate.total_spend), func.avg(CustomerScore.clv))
             .join(CustomerAggregate, CustomerAggregate.customer_id == CustomerScore.customer_id)
             .where(CustomerScore.tier.is_not(None)).group_by(CustomerScore.tier))
    async with uow:
        rows = {row[0]: row for row in await uow.session.execute(query)}
    total = sum(float(row[2] or 0) for row in rows.values()) or 1.0
    return [TierRow(tier=tier, customers=rows[tier][1] if tier in rows else 0,
                    revenue=float(rows[tier][2] or 0) if tier in rows else 0.0,
                    revenue_share=float(rows[tier][2] or 0) / total if tier in rows else 0.0,
                    average_clv=float(rows[tier][3]) if tier in rows and rows[tier][3] is not None else None)
            for tier in reversed(TIERS_BY_RANK)]


@router.get("/rfm", response_model=list[RfmCell])
async def rfm_grid(uow: UowDep) -> list[RfmCell]:
    """The R x F grid (5 x 5 with quintiles): customers and average net spend per purchase day in each cell."""
    spend = CustomerAggregate.total_spend / func.nullif(CustomerAggregate.purchase_days, 0)
    query = (select(CustomerScore.r, CustomerScore.f, func.count(), func.avg(spend))
             .join(CustomerAggregate, CustomerAggregate.customer_id == CustomerScore.customer_id)
             .where(CustomerScore.r.is_not(None)).group_by(CustomerScore.r, CustomerScore.f))
    async with uow:
        cells = {(row[0], row[1]): row for row in await uow.session.execute(query)}
    bins = max([5] + [max(key) for key in cells])
    return [RfmCell(r=r, f=f, customers=cells[(r, f)][2] if (r, f) in cells else 0,
                    average_spend=float(cells[(r, f)][3]) if (r, f) in cells and cells[(r, f)][3] is not None else None)
            for r in range(bins, 0, -1) for f in range(1, bins + 1)]


@router.get("/clv", response_model=ClvDistribution)
async def clv_distribution(uow: UowDep, bins: Annotated[int, Query(ge=1, le=100)] = 20) -> ClvDistribution:
    """Quantiles and a histogram of predicted CLV over the customers scored with a model."""
    async with uow:
        values = np.array((await uow.session.execute(
            select(CustomerScore.clv).where(CustomerScore.clv.is_not(None)))).scalars().all(), dtype=float)
    if len(values) == 0:
        return ClvDistribution(customers=0, mean=None, quantiles={}, histogram=[])
    levels = (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)
    counts, edges = np.histogram(values, bins=bins)
    return ClvDistribution(
        customers=len(values), mean=float(values.mean()),
        quantiles={f"p{round(q * 100)}": float(v) for q, v in zip(levels, np.quantile(values, levels))},
        histogram=[{"from": float(edges[i]), "to": float(edges[i + 1]), "customers": int(counts[i])}
                   for i in range(len(counts))])


@router.get("/lifecycle", response_model=LifecycleRead)
async def lifecycle(uow: UowDep, since: datetime | None = None, until: datetime | None = None) -> LifecycleRead:
    """Customers per lifecycle stage now, and the moves between stages in [since, until) (default: 30 days)."""
    until = until or utcnow()
    since = since or until - timedelta(days=30)
    if since.tzinfo is None or until.tzinfo is None or since >= until:
        raise Problem(422, "since and until must be RFC 3339 times with an offset, since before until")
    flows = (select(ScoreChange.previous, ScoreChange.current, func.count(func.distinct(ScoreChange.customer_id)))
             .where(ScoreChange.kind == "stage", ScoreChange.at >= since, ScoreChange.at < until)
             .group_by(ScoreChange.previous, ScoreChange.current))
    async with uow:
        rows = await uow.session.execute(select(CustomerScore.stage, func.count()).group_by(CustomerScore.stage))
        counts = {stage: count for stage, count in rows}
        moves = (await uow.session.execute(flows)).all()
    return LifecycleRead(counts={stage: counts.get(stage, 0) for stage in STAGE_ORDER}, since=since, until=until,
                         flows=[StageFlow(previous=p, current=c, customers=n) for p, c, n in moves])
