"""Engagement's use cases."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert, select, tuple_

from services.engagement.domain import points_for_purchase
from services.engagement.models import PointsEntry, Template
from shared.uow import UnitOfWork

PURCHASE = "purchase"


@dataclass(frozen=True)
class EarningPurchase:
    order_reference: str  # "<source>/<order_id>": the same order earns once
    customer_id: str
    total_amount: Decimal
    occurred_at: datetime


async def grant_purchase_points(uow: UnitOfWork, purchases: list[EarningPurchase], points_per_unit: Decimal) -> set[str]:
    """Points for each order not seen before; returns those orders' references."""
    first = {p.order_reference: p for p in reversed(purchases)}
    granted = set((await uow.session.scalars(select(PointsEntry.reference).where(
        tuple_(PointsEntry.reason, PointsEntry.reference).in_([(PURCHASE, ref) for ref in first]))
    )).all())
    rows = [
        {"customer_id": p.customer_id, "points": points_for_purchase(p.total_amount, points_per_unit),
         "reason": PURCHASE, "reference": ref, "occurred_at": p.occurred_at}
        for ref, p in first.items() if ref not in granted
    ]
    if rows:
        await uow.session.execute(insert(PointsEntry), rows)
    return {row["reference"] for row in rows}


async def survey_template(uow: UnitOfWork, template_id: str) -> str | None:
    """The operator's survey-invitation template when one was stored; None falls back to a plain body."""
    return await uow.session.scalar(select(Template.template_id).where(Template.template_id == template_id).limit(1))
