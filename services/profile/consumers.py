"""Profile's subscriptions: (event type, dataversion) -> handler. Translation only."""
from __future__ import annotations

from services.profile import handlers
from services.profile.domain import CustomerErased, order_key
from shared.bus.consumer import Received, Subscriptions
from shared.bus.errors import RejectEvent
from shared.uow import UnitOfWork

OWN_SOURCE = "/services/profile"


async def on_purchase_recorded(uow: UnitOfWork, events: list[Received]) -> None:
    """Orders that other systems publish straight to Kafka join the purchase history."""
    external = [e for e in events if e.envelope.source != OWN_SOURCE]  # our own were stored when accepted
    try:
        await handlers.record_purchases(
            uow, [(order_key(e.data, e.envelope.source), e.data) for e in external], publish=False)  # type: ignore[arg-type]
    except CustomerErased as exc:
        refused = next(e for e in external if e.data.customer_id in exc.customer_ids)  # type: ignore[attr-defined]
        raise RejectEvent(refused.envelope.id, f"customer {refused.data.customer_id} has been erased")  # type: ignore[attr-defined]


SUBSCRIPTIONS: Subscriptions = {
    ("purchase-recorded", 1): on_purchase_recorded,
}
