"""Feedback's subscriptions: (event type, dataversion) -> handler. Translation only."""
from __future__ import annotations

from services.feedback import handlers
from shared.bus.consumer import Received, Subscriptions
from shared.uow import UnitOfWork


async def on_customer_erased(uow: UnitOfWork, events: list[Received]) -> None:
    for e in events:
        await handlers.forget_customer(uow, e.data.customer_id)  # type: ignore[attr-defined]


SUBSCRIPTIONS: Subscriptions = {
    ("customer-erased", 1): on_customer_erased,
}
