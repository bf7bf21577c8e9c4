"""Feedback's subscriptions: (event type, dataversion) -> handler. Translation only."""
from __future__ import annotations

from services.feedback import handlers_customers as customers
from services.feedback.settings import FeedbackSettings
from shared.bus.consumer import Handler, Received, Subscriptions
from shared.uow import UnitOfWork


async def on_customer_erased(uow: UnitOfWork, events: list[Received]) -> None:
    for e in events:
        await customers.forget_customer(uow, e.data.customer_id)  # type: ignore[attr-defined]


async def on_customer_merged(uow: UnitOfWork, events: list[Received]) -> None:
    for e in events:
        await customers.merge_customers(uow, e.data.merged_customer_id, e.data.surviving_customer_id)  # type: ignore[attr-defined]


async def on_tier_changed(uow: UnitOfWork, events: list[Received]) -> None:
    for e in events:
        await customers.note_standing(uow, e.data.customer_id, tier=e.data.tier)  # type: ignore[attr-defined]


async def on_churn_risk_changed(uow: UnitOfWork, events: list[Received]) -> None:
    for e in events:
        await customers.note_standing(uow, e.data.customer_id, churn_risk=e.data.risk)  # type: ignore[attr-defined]


async def on_lifecycle_stage_changed(uow: UnitOfWork, events: list[Received]) -> None:
    for e in events:
        await customers.note_standing(uow, e.data.customer_id, stage=e.data.stage)  # type: ignore[attr-defined]


def on_purchase_recorded(settings: FeedbackSettings) -> Handler:
    async def handle(uow: UnitOfWork, events: list[Received]) -> None:
        for e in events:
            await customers.note_purchase(uow, settings, e.data.customer_id, e.data.occurred_at)  # type: ignore[attr-defined]
    return handle


def subscriptions(settings: FeedbackSettings) -> Subscriptions:
    return {
        ("customer-erased", 1): on_customer_erased,
        ("customer-merged", 1): on_customer_merged,
        ("tier-changed", 1): on_tier_changed,
        ("churn-risk-changed", 1): on_churn_risk_changed,
        ("lifecycle-stage-changed", 1): on_lifecycle_stage_changed,
        ("purchase-recorded", 1): on_purchase_recorded(settings),
    }
