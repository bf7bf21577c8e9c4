"""Everything profile holds on one customer, for a data subject access request."""
from __future__ import annotations

from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.profile.models import (
    ConsentHistory,
    Customer,
    CustomerFeedback,
    CustomerScore,
    Interaction,
    Purchase,
    PurchaseItem,
    Refund,
)
from services.profile.schemas_customers import CustomerRead


async def everything_on(session: AsyncSession, customer: Customer, profile: CustomerRead) -> dict[str, Any]:
    customer_id = customer.customer_id
    return jsonable_encoder({
        "profile": profile,
        "consent_history": await _rows(session, ConsentHistory, customer_id, ConsentHistory.occurred_at,
                                       ("channel", "purpose", "granted", "source", "occurred_at", "recorded_at")),
        "purchases": await _purchases(session, customer_id),
        "refunds": await _rows(session, Refund, customer_id, Refund.occurred_at,
                               ("occurred_at", "amount", "currency", "reason")),
        "interactions": await _rows(session, Interaction, customer_id, Interaction.occurred_at,
                                    ("interaction_id", "kind", "channel", "occurred_at", "properties")),
        "scores": await _rows(session, CustomerScore, customer_id, CustomerScore.customer_id,
                              ("tier", "clv", "clv_currency", "lifecycle_stage", "churn_risk", "p_alive")),
        "feedback": await _rows(session, CustomerFeedback, customer_id, CustomerFeedback.kind,
                                ("kind", "score", "response_id", "responded_at")),
    })


async def _rows(session: AsyncSession, model: Any, customer_id: str, order: Any,
                fields: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = await session.scalars(select(model).where(model.customer_id == customer_id).order_by(order))
    return [{name: getattr(row, name) for name in fields} for row in rows]


async def _purchases(session: AsyncSession, customer_id: str) -> list[dict[str, Any]]:
    purchases = (await session.scalars(
        select(Purchase).where(Purchase.customer_id == customer_id).order_by(Purchase.occurred_at))).all()
    items = (await session.scalars(
        select(PurchaseItem).where(PurchaseItem.purchase_id.in_([p.id for p in purchases]))
        .order_by(PurchaseItem.purchase_id, PurchaseItem.line_no))).all()
    lines: dict[int, list[dict[str, Any]]] = {}
    for item in items:
        lines.setdefault(item.purchase_id, []).append(
            {"sku": item.sku, "name": item.name, "category": item.category, "quantity": item.quantity,
             "unit_price": item.unit_price})
    return [{"source": p.source, "order_id": p.order_id, "occurred_at": p.occurred_at,
             "total_amount": p.total_amount, "currency": p.currency, "channel": p.channel,
             "store_id": p.store_id, "items": lines.get(p.id, [])} for p in purchases]
