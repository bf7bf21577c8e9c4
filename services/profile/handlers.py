"""Use cases on what customers did: orders, refunds, interactions. Each records the events it causes."""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import func, select

from services.profile import repository
from services.profile.bulk import insert_rows
from services.profile.customer_handlers import register_prospects
from services.profile.domain import (
    CustomerErased,
    OrderBalance,
    OrderKey,
    UnknownOrder,
    check_refund,
    refund_key,
    unique_orders,
)
from services.profile.membership import mark_dirty
from services.profile.models import Interaction, Purchase, PurchaseItem, Refund
from services.profile.repository import CustomerState
from shared.db import utcnow
from shared.events.catalogue import InteractionRecordedV1, PurchaseRecordedV1, PurchaseRefundedV1
from shared.uow import UnitOfWork

RECORDED, DUPLICATE = "recorded", "duplicate"


async def known_customers(uow: UnitOfWork, customer_ids: Iterable[str]) -> dict[str, CustomerState]:
    """The customers named, creating prospects for unknown ones in one statement; erased ones are refused."""
    wanted = list(dict.fromkeys(customer_ids))
    customers = await repository.customer_states(uow.session, wanted)
    erased = {c.customer_id for c in customers.values() if c.erased_at is not None}
    if erased:
        raise CustomerErased(erased)
    unknown = [customer_id for customer_id in wanted if customer_id not in customers]
    if unknown:
        await register_prospects(uow, unknown)
        customers.update((customer_id, CustomerState(customer_id, None, None)) for customer_id in unknown)
    return customers


def surviving_ids(customers: dict[str, CustomerState]) -> dict[str, str]:
    """Where each named customer's activity goes: a merged profile's goes to the one it was merged into."""
    return {customer_id: c.merged_into or customer_id for customer_id, c in customers.items()}


async def record_purchases(uow: UnitOfWork, purchases: list[tuple[OrderKey, PurchaseRecordedV1]], *,
                           publish: bool) -> dict[OrderKey, str]:
    """Store new orders (creating prospects for unknown customers); known orders are duplicates.

    `publish` is set when profile is the gateway that received the order (HTTP); orders read from
    Kafka were already published by the system that sent them.
    """
    orders = unique_orders(purchases)
    survivors = surviving_ids(await known_customers(uow, (p.customer_id for _, p in orders)))
    orders = [(key, p if survivors[p.customer_id] == p.customer_id
               else p.model_copy(update={"customer_id": survivors[p.customer_id]})) for key, p in orders]
    recorded = await _insert_new_orders(uow, orders)
    new_orders = [(key, purchase) for key, purchase in orders if key in recorded]
    if new_orders:
        await mark_dirty(uow.session, (p.customer_id for _, p in new_orders))
        if publish:
            for key, purchase in new_orders:
                uow.record(purchase.model_copy(update={"source_system": key.source}))
    return {key: (RECORDED if key in recorded else DUPLICATE) for key, _ in orders}


async def _insert_new_orders(uow: UnitOfWork, orders: list[tuple[OrderKey, PurchaseRecordedV1]]) -> set[OrderKey]:
    """Insert the orders and their items; an order already stored (same source and order id, from
    HTTP, Kafka or another replica) is skipped by the database. Returns the keys inserted here."""
    if not orders:
        return set()
    rows = await insert_rows(uow.session, Purchase.__table__, [
        {"source": key.source, "order_id": p.order_id, "customer_id": p.customer_id, "occurred_at": p.occurred_at,
         "total_amount": p.total_amount, "currency": p.currency, "channel": p.channel, "store_id": p.store_id}
        for key, p in orders
    ], same={"recorded_at": utcnow()}, conflict=["source", "order_id"], returning=["id", "source", "order_id"])
    ids = {OrderKey(row.source, row.order_id): row.id for row in rows}
    await insert_rows(uow.session, PurchaseItem.__table__, [
        {"purchase_id": ids[key], "line_no": line_no, "sku": item.sku, "name": item.name,
         "category": item.category, "quantity": item.quantity, "unit_price": item.unit_price}
        for key, purchase in orders if key in ids
        for line_no, item in enumerate(purchase.items, start=1)
    ])
    return set(ids)


async def record_refunds(uow: UnitOfWork, refunds: list[tuple[OrderKey, PurchaseRefundedV1]], *,
                         publish: bool) -> list[str]:
    """Store refunds against their orders; the same refund reported again is a duplicate.

    Raises UnknownOrder or RefundRefused naming the position of the offending refund."""
    statuses: list[str] = []
    for position, (key, refund) in enumerate(refunds):
        purchase = await repository.purchase_by_key(uow.session, key)
        if purchase is None:
            raise UnknownOrder(position, key)
        await known_customers(uow, [purchase.customer_id])
        if await _refund_exists(uow, purchase.id, refund_key(refund)):
            statuses.append(DUPLICATE)
            continue
        check_refund(position, refund, OrderBalance(purchase.customer_id, purchase.currency, purchase.total_amount,
                                                    await _refunded(uow, purchase.id)))
        uow.session.add(Refund(purchase_id=purchase.id, refund_key=refund_key(refund), customer_id=refund.customer_id,
                               occurred_at=refund.occurred_at, amount=refund.amount, currency=refund.currency,
                               reason=refund.reason, recorded_at=utcnow()))
        await uow.session.flush()
        await mark_dirty(uow.session, [purchase.customer_id])
        if publish:
            uow.record(refund.model_copy(update={"source_system": key.source}))
        statuses.append(RECORDED)
    return statuses


async def _refund_exists(uow: UnitOfWork, purchase_id: int, key: str) -> bool:
    found = await uow.session.scalar(
        select(Refund.id).where(Refund.purchase_id == purchase_id, Refund.refund_key == key))
    return found is not None


async def _refunded(uow: UnitOfWork, purchase_id: int) -> Decimal:
    total = await uow.session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(Refund.purchase_id == purchase_id))
    return Decimal(total)


async def record_interactions(uow: UnitOfWork, interactions: list[InteractionRecordedV1]) -> list[str]:
    """Store interactions (creating prospects) and publish each new one as interaction-recorded."""
    survivors = surviving_ids(await known_customers(uow, (i.customer_id for i in interactions)))
    interactions = [i.model_copy(update={"customer_id": survivors[i.customer_id]}) for i in interactions]
    ids = [i.interaction_id for i in interactions]
    known = set((await uow.session.scalars(
        select(Interaction.interaction_id).where(Interaction.interaction_id.in_(ids)))).all())
    statuses: list[str] = []
    now = utcnow()
    for interaction in interactions:
        if interaction.interaction_id in known:
            statuses.append(DUPLICATE)
            continue
        known.add(interaction.interaction_id)
        uow.session.add(Interaction(
            interaction_id=interaction.interaction_id, customer_id=interaction.customer_id, kind=interaction.kind,
            channel=interaction.channel, occurred_at=interaction.occurred_at,
            properties=dict(interaction.properties), recorded_at=now))
        uow.record(interaction)
        statuses.append(RECORDED)
    await mark_dirty(uow.session, (i.customer_id for i, s in zip(interactions, statuses) if s == RECORDED))
    return statuses


def new_interaction_id() -> str:
    return f"int-{uuid.uuid4().hex}"
