"""Scoring's subscriptions: (event type, dataversion) -> handler. Translation only."""
from __future__ import annotations

from decimal import Decimal


from services.scoring import handlers
from shared.bus.consumer import Handler, Received, Subscriptions
from shared.bus.errors import RejectEvent
from shared.uow import UnitOfWork


def subscriptions(rates: dict[str, Decimal]) -> Subscriptions:
    async def on_purchase_recorded(uow: UnitOfWork, events: list[Received]) -> None:
        orders = [
            handlers.OrderToCount(
                source=e.data.source_system or e.envelope.source, order_id=e.data.order_id,  # type: ignore[attr-defined]
                customer_id=e.data.customer_id, amount=e.data.total_amount,  # type: ignore[attr-defined]
                currency=e.data.currency, occurred_at=e.data.occurred_at, ref=e.envelope.id)  # type: ignore[attr-defined]
            for e in events
        ]
        try:
            await handlers.count_purchases(uow, orders, rates)
        except handlers.OrderRefused as exc:
            raise RejectEvent(exc.ref, exc.reason) from exc

    async def on_customer_erased(uow: UnitOfWork, events: list[Received]) -> None:
        for e in events:
            await handlers.forget_customer(uow, e.data.customer_id)  # type: ignore[attr-defined]

    table: dict[tuple[str, int], Handler] = {
        ("purchase-recorded", 1): on_purchase_recorded,
        ("customer-erased", 1): on_customer_erased,
    }
    return table


