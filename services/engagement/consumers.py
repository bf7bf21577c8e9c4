"""Engagement's subscriptions: (event type, dataversion) -> handler. Translation only."""
from __future__ import annotations

from decimal import Decimal

from services.engagement import handlers
from shared.bus.consumer import Received, Subscriptions
from shared.uow import UnitOfWork


def subscriptions(points_per_unit: Decimal) -> Subscriptions:
    async def on_purchase_recorded(uow: UnitOfWork, events: list[Received]) -> None:
        await handlers.grant_purchase_points(uow, [
            handlers.EarningPurchase(
                order_reference=f"{e.data.source_system or e.envelope.source}/{e.data.order_id}",  # type: ignore[attr-defined]
                customer_id=e.data.customer_id, total_amount=e.data.total_amount,  # type: ignore[attr-defined]
                occurred_at=e.data.occurred_at)  # type: ignore[attr-defined]
            for e in events
        ], points_per_unit)

    async def on_customer_erased(uow: UnitOfWork, events: list[Received]) -> None:
        for e in events:
            await handlers.forget_customer(uow, e.data.customer_id)  # type: ignore[attr-defined]

    return {
        ("purchase-recorded", 1): on_purchase_recorded,
        ("customer-erased", 1): on_customer_erased,
    }
