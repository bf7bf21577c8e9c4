"""Scoring's subscriptions: (event type, dataversion) -> handler. Translation only."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable

from services.scoring import handlers
from services.scoring import handlers_customers as customers
from services.scoring.handlers import IngestConfig, OrderRefused
from services.scoring.rescoring import ScoringConfig
from shared.bus.consumer import Handler, Received, Subscriptions
from shared.bus.errors import RejectEvent
from shared.db import utcnow
from shared.uow import UnitOfWork


def _source(e: Received) -> str:
    return e.data.source_system or e.envelope.source  # type: ignore[attr-defined]


def _causes(events: list[Received]) -> dict[str, Received]:
    return {e.data.customer_id: e for e in events if hasattr(e.data, "customer_id")}  # type: ignore[attr-defined]


def _refund_key(e: Received) -> str:
    # Some sources number refunds per order ("1", "2", ...): the order id keeps such refunds apart.
    d: Any = e.data
    return f"{d.order_id}#{d.refund_id}" if d.refund_id else f"{d.order_id}|{d.occurred_at.isoformat()}|{d.amount}"


def subscriptions(config: IngestConfig, clock: Callable[[], datetime] = utcnow) -> Subscriptions:
    def refusing(handle: Callable[[UnitOfWork, list[Received]], Awaitable[None]]) -> Handler:
        async def handler(uow: UnitOfWork, events: list[Received]) -> None:
            try:
                await handle(uow, events)
            except OrderRefused as exc:
                raise RejectEvent(exc.ref, exc.reason) from exc
        return handler

    async def on_purchase_recorded(uow: UnitOfWork, events: list[Received]) -> None:
        orders = [handlers.OrderToCount(
            source=_source(e), order_id=e.data.order_id, customer_id=e.data.customer_id,  # type: ignore[attr-defined]
            amount=e.data.total_amount, currency=e.data.currency, occurred_at=e.data.occurred_at,  # type: ignore[attr-defined]
            ref=e.envelope.id) for e in events]
        await handlers.count_purchases(uow, orders, config, clock(), causes=_causes(events))

    async def on_purchase_refunded(uow: UnitOfWork, events: list[Received]) -> None:
        refunds = [handlers.RefundToCount(
            source=_source(e), refund_key=_refund_key(e), order_id=e.data.order_id,  # type: ignore[attr-defined]
            customer_id=e.data.customer_id, amount=e.data.amount, currency=e.data.currency,  # type: ignore[attr-defined]
            occurred_at=e.data.occurred_at, ref=e.envelope.id) for e in events]  # type: ignore[attr-defined]
        await handlers.count_refunds(uow, refunds, config, clock(), causes=_causes(events))

    async def on_customer_registered(uow: UnitOfWork, events: list[Received]) -> None:
        registered = {e.data.customer_id: e.envelope.time for e in events}  # type: ignore[attr-defined]
        await customers.register_customers(uow, registered, config, clock(), causes=_causes(events))

    async def on_feedback_received(uow: UnitOfWork, events: list[Received]) -> None:
        answers = [customers.NpsAnswer(e.data.customer_id, e.data.score,  # type: ignore[attr-defined]
                                       e.data.responded_at or e.envelope.time)  # type: ignore[attr-defined]
                   for e in events if e.data.kind == "nps" and e.data.score is not None]  # type: ignore[attr-defined]
        if answers:
            await customers.record_nps(uow, answers, config, clock(), causes=_causes(events))

    async def on_complaint(uow: UnitOfWork, events: list[Received]) -> None:
        changes = [customers.ComplaintChange(
            e.data.case_id, e.data.customer_id, e.data.severity,  # type: ignore[attr-defined]
            opened_at=e.envelope.time if e.envelope.type == "complaint-opened" else None,
            resolved_at=(e.data.resolved_at or e.envelope.time)  # type: ignore[attr-defined]
            if e.envelope.type == "complaint-resolved" else None) for e in events]
        await customers.record_complaints(uow, changes, config, clock(), causes=_causes(events))

    async def on_customer_merged(uow: UnitOfWork, events: list[Received]) -> None:
        for e in events:
            await customers.merge_customers(uow, e.data.surviving_customer_id,  # type: ignore[attr-defined]
                                            e.data.merged_customer_id, config, clock(), cause=e)  # type: ignore[attr-defined]

    async def on_customer_erased(uow: UnitOfWork, events: list[Received]) -> None:
        for e in events:
            await customers.forget_customer(uow, e.data.customer_id)  # type: ignore[attr-defined]

    table: dict[tuple[str, int], Handler] = {
        ("purchase-recorded", 1): refusing(on_purchase_recorded),
        ("purchase-refunded", 1): refusing(on_purchase_refunded),
        ("customer-registered", 1): on_customer_registered,
        ("feedback-received", 1): on_feedback_received,
        ("complaint-opened", 1): on_complaint,
        ("complaint-resolved", 1): on_complaint,
        ("customer-merged", 1): on_customer_merged,
        ("customer-erased", 1): on_customer_erased,
    }
    return table


def ingest_config(settings: Any) -> IngestConfig:
    """The consumers' configuration, from ScoringSettings."""
    return IngestConfig(rates=settings.rates(), future_tolerance=timedelta(seconds=settings.future_tolerance_seconds),
                        scoring=ScoringConfig(policy=settings.policy(), currency=settings.base_currency,
                                              clv_months=settings.clv_months,
                                              discount_rate=settings.clv_discount_rate))
