"""Scoring's use cases."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, func, insert, select, tuple_

from services.scoring.domain import AggregateDelta, UnknownCurrency, to_base_currency
from services.scoring.models import CountedOrder, CustomerAggregate
from shared.db import dialect_insert, utcnow
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class OrderToCount:
    source: str
    order_id: str
    customer_id: str
    amount: Decimal
    currency: str
    occurred_at: datetime
    ref: str  # what to name when the order is refused (the event id)


class OrderRefused(Exception):
    def __init__(self, ref: str, reason: str):
        super().__init__(reason)
        self.ref = ref
        self.reason = reason


async def count_purchases(uow: UnitOfWork, orders: list[OrderToCount], rates: dict[str, Decimal]) -> int:
    """Add new orders to their customers' aggregates in one batched write; returns how many were new."""
    first_seen = {(o.source, o.order_id): o for o in reversed(orders)}
    known = await _counted(uow, list(first_seen))
    new_orders = [o for key, o in first_seen.items() if key not in known]
    if not new_orders:
        return 0
    deltas: dict[str, AggregateDelta] = {}
    for order in new_orders:
        try:
            spend = to_base_currency(order.amount, order.currency, rates)
        except UnknownCurrency as exc:
            raise OrderRefused(order.ref, str(exc)) from exc
        delta = deltas.setdefault(order.customer_id, AggregateDelta(0, Decimal(0), order.occurred_at, order.occurred_at))
        delta.add(spend, order.occurred_at)
    await uow.session.execute(insert(CountedOrder), [
        {"source": o.source, "order_id": o.order_id, "customer_id": o.customer_id} for o in new_orders])
    await _add_to_aggregates(uow, deltas)
    return len(new_orders)


async def _counted(uow: UnitOfWork, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    counted: set[tuple[str, str]] = set()
    for start in range(0, len(keys), 500):
        rows = await uow.session.execute(select(CountedOrder.source, CountedOrder.order_id).where(
            tuple_(CountedOrder.source, CountedOrder.order_id).in_(keys[start:start + 500])))
        counted.update((r.source, r.order_id) for r in rows)
    return counted


async def _add_to_aggregates(uow: UnitOfWork, deltas: dict[str, AggregateDelta]) -> None:
    dialect = uow.session.bind.dialect.name
    least, greatest = (func.least, func.greatest) if dialect == "postgresql" else (func.min, func.max)
    now = utcnow()
    statement = dialect_insert(dialect, CustomerAggregate.__table__)
    table = CustomerAggregate.__table__
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.customer_id],
        set_={
            "purchase_count": table.c.purchase_count + statement.excluded.purchase_count,
            "total_spend": table.c.total_spend + statement.excluded.total_spend,
            "first_purchase_at": least(table.c.first_purchase_at, statement.excluded.first_purchase_at),
            "last_purchase_at": greatest(table.c.last_purchase_at, statement.excluded.last_purchase_at),
            "updated_at": statement.excluded.updated_at,
        },
    )
    await uow.session.execute(statement, [
        {"customer_id": customer_id, "purchase_count": d.purchase_count, "total_spend": d.spend,
         "first_purchase_at": d.first_purchase_at, "last_purchase_at": d.last_purchase_at, "updated_at": now}
        for customer_id, d in deltas.items()
    ])


async def forget_customer(uow: UnitOfWork, customer_id: str) -> None:
    await uow.session.execute(delete(CustomerAggregate).where(CustomerAggregate.customer_id == customer_id))
    await uow.session.execute(delete(CountedOrder).where(CountedOrder.customer_id == customer_id))
