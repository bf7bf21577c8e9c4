"""Profile's subscriptions: (event type, dataversion) -> handler. Translation only."""
from __future__ import annotations

from services.profile import handlers, projections
from services.profile.domain import CustomerErased, RefundRefused, UnknownOrder, order_key
from services.profile.membership import mark_dirty
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


async def on_purchase_refunded(uow: UnitOfWork, events: list[Received]) -> None:
    """Refunds reduce net spend; one for an order never recorded, or contradicting it, is dead-lettered."""
    external = [e for e in events if e.envelope.source != OWN_SOURCE]
    try:
        await handlers.record_refunds(
            uow, [(order_key(e.data, e.envelope.source), e.data) for e in external], publish=False)  # type: ignore[arg-type]
    except (UnknownOrder, RefundRefused) as exc:
        raise RejectEvent(external[exc.position].envelope.id, str(exc))
    except CustomerErased as exc:
        refused = next(e for e in external if e.data.customer_id in exc.customer_ids)  # type: ignore[attr-defined]
        raise RejectEvent(refused.envelope.id, f"customer {refused.data.customer_id} has been erased")  # type: ignore[attr-defined]


async def on_score_changed(uow: UnitOfWork, events: list[Received]) -> None:
    """Tier, lifecycle stage and churn risk, kept for the 360 view and segments."""
    gone = await projections.erased(uow.session, [e.data.customer_id for e in events])  # type: ignore[attr-defined]
    for event in events:
        if event.data.customer_id not in gone:  # type: ignore[attr-defined]
            await projections.apply_score(uow.session, event.data, event.envelope.time)  # type: ignore[arg-type]
    await mark_dirty(uow.session, (e.data.customer_id for e in events))  # type: ignore[attr-defined]


async def on_feedback_received(uow: UnitOfWork, events: list[Received]) -> None:
    """The latest NPS, CSAT and CES answer per customer."""
    gone = await projections.erased(uow.session, [e.data.customer_id for e in events])  # type: ignore[attr-defined]
    for event in events:
        if event.data.customer_id not in gone:  # type: ignore[attr-defined]
            await projections.apply_feedback(uow.session, event.data, event.envelope.time)  # type: ignore[arg-type]
    await mark_dirty(uow.session, (e.data.customer_id for e in events))  # type: ignore[attr-defined]


SUBSCRIPTIONS: Subscriptions = {
    ("purchase-recorded", 1): on_purchase_recorded,
    ("purchase-refunded", 1): on_purchase_refunded,
    ("tier-changed", 1): on_score_changed,
    ("lifecycle-stage-changed", 1): on_score_changed,
    ("churn-risk-changed", 1): on_score_changed,
    ("feedback-received", 1): on_feedback_received,
}
