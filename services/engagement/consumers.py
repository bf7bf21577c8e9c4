"""Engagement's subscriptions: (event type, dataversion) -> handler. Translation only."""
from __future__ import annotations

from decimal import Decimal

from services.engagement import customers, handlers, journeys, projection
from services.engagement.journey_rules import JourneyEvent
from services.engagement.messages import QueueMessage, queue_message
from services.engagement.recommendations import Basket, Line, record_baskets
from shared.bus.consumer import Handler, Received, Subscriptions
from shared.db import utcnow
from shared.uow import UnitOfWork

SURVEY_TEMPLATE = "survey-invitation"
_SURVEY_BODY = "{{ survey_name or 'A short survey' }}: we would value your opinion. {{ url }}"


def _snapshot(e: Received) -> projection.Snapshot:
    data = e.data
    return projection.Snapshot(
        customer_id=data.customer_id, timezone=data.timezone, locale=data.locale,  # type: ignore[attr-defined]
        birthday=data.birthday, do_not_contact=bool(data.do_not_contact),  # type: ignore[attr-defined]
        consents=[f"{c.channel}:{c.purpose}" for c in data.consents if c.granted])  # type: ignore[attr-defined]


async def on_customer_snapshot(uow: UnitOfWork, events: list[Received]) -> None:
    for e in events:
        await projection.apply_snapshot(uow, _snapshot(e))


def on_standing(field: str, attribute: str) -> Handler:
    """Tier, stage or risk into the projection; journeys the change starts or ends follow."""
    async def handle(uow: UnitOfWork, events: list[Received]) -> None:
        changes = []
        for e in events:
            current = getattr(e.data, attribute)
            await projection.apply_standing(uow, e.data.customer_id, **{field: current})  # type: ignore[attr-defined]
            changes.append(JourneyEvent(e.envelope.type, e.data.customer_id, e.envelope.id, {  # type: ignore[attr-defined]
                "previous": getattr(e.data, f"previous_{attribute}"), "current": current,
                "reasons": list(e.data.reasons)}))  # type: ignore[attr-defined]
        await journeys.react(uow, changes, utcnow())
    return handle


async def on_feedback_received(uow: UnitOfWork, events: list[Received]) -> None:
    """Feedback can start a journey, e.g. service recovery for a detractor."""
    await journeys.react(uow, [JourneyEvent(e.envelope.type, e.data.customer_id, e.data.response_id, {  # type: ignore[attr-defined]
        "response_id": e.data.response_id, "survey_id": e.data.survey_id, "kind": e.data.kind,  # type: ignore[attr-defined]
        "score": e.data.score, "sentiment": e.data.sentiment, "themes": list(e.data.themes)})  # type: ignore[attr-defined]
        for e in events], utcnow())


async def on_complaint(uow: UnitOfWork, events: list[Received]) -> None:
    """An opened (or resolved) complaint can start or end a journey."""
    await journeys.react(uow, [JourneyEvent(e.envelope.type, e.data.customer_id, e.data.case_id, {  # type: ignore[attr-defined]
        "case_id": e.data.case_id, "severity": e.data.severity, "category": e.data.category,  # type: ignore[attr-defined]
        "resolution": getattr(e.data, "resolution", None)})
        for e in events], utcnow())


async def on_segment_membership_changed(uow: UnitOfWork, events: list[Received]) -> None:
    for e in events:
        d = e.data
        await projection.apply_membership(uow, d.segment_id, d.customer_id, d.change, d.at)  # type: ignore[attr-defined]


async def on_customer_erased(uow: UnitOfWork, events: list[Received]) -> None:
    for e in events:
        await customers.erase_customer(uow, e.data.customer_id)  # type: ignore[attr-defined]
        await journeys.forget_customer(uow, e.data.customer_id)  # type: ignore[attr-defined]


async def on_customer_merged(uow: UnitOfWork, events: list[Received]) -> None:
    for e in events:
        await customers.merge_customers(uow, e.data.merged_customer_id, e.data.surviving_customer_id)  # type: ignore[attr-defined]
        await journeys.move_merged_customer(uow, e.data.merged_customer_id,  # type: ignore[attr-defined]
                                            e.data.surviving_customer_id, utcnow())  # type: ignore[attr-defined]


async def on_survey_invited(uow: UnitOfWork, events: list[Received]) -> None:
    """Deliver the invitation through the customer's preferred channel, as a service message."""
    for e in events:
        d = e.data
        await queue_message(uow, QueueMessage(
            message_id=f"survey-{d.invitation_id}", customer_id=d.customer_id,  # type: ignore[attr-defined]
            channel=d.channel or "preferred", priority="service",  # type: ignore[attr-defined]
            template_id=await handlers.survey_template(uow, SURVEY_TEMPLATE),
            subject=None, body=_SURVEY_BODY, variables={"url": d.url, "survey_name": d.survey_name},  # type: ignore[attr-defined]
            expires_at=d.expires_at, invitation_id=d.invitation_id), utcnow())  # type: ignore[attr-defined]


def _order_reference(e: Received) -> str:
    return f"{e.data.source_system or e.envelope.source}/{e.data.order_id}"  # type: ignore[attr-defined]


def _basket(e: Received) -> Basket:
    return Basket(e.data.customer_id, [Line(i.sku, i.name, i.category, i.quantity)  # type: ignore[attr-defined]
                                       for i in e.data.items])  # type: ignore[attr-defined]


def _purchase_event(e: Received, first_purchase: bool) -> JourneyEvent:
    d = e.data
    return JourneyEvent(e.envelope.type, d.customer_id, _order_reference(e), {  # type: ignore[attr-defined]
        "order_id": d.order_id, "total_amount": str(d.total_amount), "currency": d.currency,  # type: ignore[attr-defined]
        "occurred_at": d.occurred_at.isoformat(), "first_purchase": first_purchase})  # type: ignore[attr-defined]


def subscriptions(points_per_unit: Decimal) -> Subscriptions:
    async def on_purchase_recorded(uow: UnitOfWork, events: list[Received]) -> None:
        by_reference: dict[str, Received] = {}
        for e in events:
            by_reference.setdefault(_order_reference(e), e)  # the first report of an order counts
        purchases = [
            handlers.EarningPurchase(
                order_reference=reference, customer_id=e.data.customer_id,  # type: ignore[attr-defined]
                total_amount=e.data.total_amount, occurred_at=e.data.occurred_at)  # type: ignore[attr-defined]
            for reference, e in by_reference.items()
        ]
        active = journeys.listening(await journeys.enabled_journeys(uow), "purchase-recorded")
        counts_first = journeys.wants_first_purchases(active)
        bought_before = (await handlers.customers_who_bought(uow, {p.customer_id for p in purchases})
                         if counts_first else set())
        new_orders = await handlers.grant_purchase_points(uow, purchases, points_per_unit)
        await record_baskets(uow, [_basket(by_reference[reference]) for reference in sorted(new_orders)])
        if active:
            first = handlers.first_purchases(purchases, new_orders, bought_before) if counts_first else set()
            await journeys.react(uow, [_purchase_event(by_reference[p.order_reference], p.order_reference in first)
                                       for p in purchases if p.order_reference in new_orders], utcnow(), active)

    return {
        ("purchase-recorded", 1): on_purchase_recorded,
        ("customer-registered", 1): on_customer_snapshot,
        ("customer-updated", 1): on_customer_snapshot,
        ("customer-merged", 1): on_customer_merged,
        ("customer-erased", 1): on_customer_erased,
        ("tier-changed", 1): on_standing("tier", "tier"),
        ("lifecycle-stage-changed", 1): on_standing("lifecycle_stage", "stage"),
        ("churn-risk-changed", 1): on_standing("churn_risk", "risk"),
        ("segment-membership-changed", 1): on_segment_membership_changed,
        ("survey-invited", 1): on_survey_invited,
        ("feedback-received", 1): on_feedback_received,
        ("complaint-opened", 1): on_complaint,
        ("complaint-resolved", 1): on_complaint,
    }
