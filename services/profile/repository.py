"""Queries profile's handlers need."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Iterable

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.profile.domain import OrderKey
from services.profile.models import Customer, Purchase


async def customers_by_id(session: AsyncSession, customer_ids: Iterable[str]) -> dict[str, Customer]:
    ids = list(set(customer_ids))
    found: dict[str, Customer] = {}
    for start in range(0, len(ids), 500):
        rows = await session.scalars(select(Customer).where(Customer.customer_id.in_(ids[start:start + 500])))
        found.update((c.customer_id, c) for c in rows)
    return found


async def known_orders(session: AsyncSession, keys: Iterable[OrderKey]) -> set[OrderKey]:
    wanted = [(k.source, k.order_id) for k in keys]
    known: set[OrderKey] = set()
    for start in range(0, len(wanted), 500):
        rows = await session.execute(
            select(Purchase.source, Purchase.order_id)
            .where(tuple_(Purchase.source, Purchase.order_id).in_(wanted[start:start + 500]))
        )
        known.update(OrderKey(r.source, r.order_id) for r in rows)
    return known


async def purchase_summary(session: AsyncSession, customer_id: str) -> tuple[int, Decimal, datetime | None, datetime | None]:
    row = (await session.execute(
        select(func.count(), func.coalesce(func.sum(Purchase.total_amount), 0),
               func.min(Purchase.occurred_at), func.max(Purchase.occurred_at))
        .where(Purchase.customer_id == customer_id)
    )).one()
    first, last = (Purchase.occurred_at.type.process_result_value(v, session.bind.dialect) if v is not None else None
                   for v in (row[2], row[3]))
    return row[0], Decimal(row[1]), first, last
