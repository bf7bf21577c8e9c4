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


async def customers_who_bought(uow: UnitOfWork, customer_ids: set[str]) -> set[str]:
    """Those of the customers with a purchase in the ledger already."""
    if not customer_ids:
        return set()
    return set((await uow.session.scalars(select(PointsEntry.customer_id).distinct().where(
        PointsEntry.reason == PURCHASE, PointsEntry.customer_id.in_(customer_ids)))).all())


def first_purchases(purchases: list[EarningPurchase], new_orders: set[str], bought_before: set[str]) -> set[str]:
    """The order references that are a customer's first purchase: the earliest new order of each customer
    who had bought nothing before."""
    first: dict[str, EarningPurchase] = {}
    for p in purchases:
        if p.order_reference in new_orders and p.customer_id not in bought_before:
            current = first.get(p.customer_id)
            if current is None or p.occurred_at < current.occurred_at:
                first[p.customer_id] = p
    return {p.order_reference for p in first.values()}


async def survey_template(uow: UnitOfWork, template_id: str) -> str | None:
    """The operator's survey-invitation template when one was stored; None falls back to a plain body."""
    return await uow.session.scalar(select(Template.template_id).where(Template.template_id == template_id).limit(1))
