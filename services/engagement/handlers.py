"""Engagement's use cases."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, insert, select, tuple_

from services.engagement.domain import points_for_purchase
from services.engagement.models import PointsEntry
from shared.uow import UnitOfWork

PURCHASE = "purchase"


@dataclass(frozen=True)
class EarningPurchase:
    order_reference: str  # "<source>/<order_id>": the same order earns once
    customer_id: str
    total_amount: Decimal
    occurred_at: datetime


async def grant_purchase_points(uow: UnitOfWork, purchases: list[EarningPurchase], points_per_unit: Decimal) -> None:
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


async def forget_customer(uow: UnitOfWork, customer_id: str) -> None:
    await uow.session.execute(delete(PointsEntry).where(PointsEntry.customer_id == customer_id))
