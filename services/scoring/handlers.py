"""Scoring's use cases for purchases and refunds: count them once, rebuild the aggregates of the
customers they touch, and score those customers at once."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Mapping, Sequence

from sqlalchemy import insert, select, tuple_

from services.scoring.domain import Unacceptable, accept, day_number
from services.scoring.models import CountedOrder, Refund
from services.scoring.repository import chunks, recompute_aggregates, resolve_aliases
from services.scoring.repository_orders import count_new_orders
from services.scoring.rescoring import ScoringConfig, rescore
from shared.db import dialect_insert
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class IngestConfig:
    rates: dict[str, Decimal] = field(default_factory=lambda: {"USD": Decimal(1)})
    future_tolerance: timedelta = timedelta(hours=1)
    scoring: ScoringConfig = ScoringConfig()


@dataclass(frozen=True)
class OrderToCount:
    source: str
    order_id: str
    customer_id: str
    amount: Decimal
    currency: str
    occurred_at: datetime
    ref: str  # what to name when the order is refused (the event id)


@dataclass(frozen=True)
class RefundToCount:
    source: str
    refund_key: str
    order_id: str
    customer_id: str
    amount: Decimal
    currency: str
    occurred_at: datetime
    ref: str


class OrderRefused(Exception):
    def __init__(self, ref: str, reason: str):
        super().__init__(reason)
        self.ref = ref
        self.reason = reason


def _accepted(item: OrderToCount | RefundToCount, config: IngestConfig, now: datetime) -> tuple[Decimal, datetime]:
    try:
        accepted = accept(item.amount, item.currency, item.occurred_at, rates=config.rates, now=now,
                          tolerance=config.future_tolerance)
    except Unacceptable as exc:
        raise OrderRefused(item.ref, str(exc)) from exc
    return accepted.amount, accepted.occurred_at


async def count_purchases(uow: UnitOfWork, orders: list[OrderToCount], config: IngestConfig, now: datetime, *,
                          causes: Mapping[str, Any] | None = None) -> int:
    """Add new orders in one batched write, rebuild their customers' aggregates and score them; returns
    how many orders were new. Raises OrderRefused for an order that can never be counted."""
    aliases = await resolve_aliases(uow.session, (o.customer_id for o in orders))
    first_seen = {(o.source, o.order_id): o for o in reversed(orders)}  # the first of in-batch duplicates
    rows, refused = [], []
    for key, order in first_seen.items():
        try:
            amount, occurred_at = _accepted(order, config, now)
        except OrderRefused as exc:
            refused.append((key, exc))
            continue
        rows.append({"source": order.source, "order_id": order.order_id, "amount": amount,
                     "customer_id": aliases.get(order.customer_id, order.customer_id),
                     "occurred_at": occurred_at, "day": day_number(occurred_at)})
    if refused:  # an order already counted is a duplicate to drop, whatever it says now
        known = await _counted(uow, [key for key, _ in refused])
        for key, exc in refused:
            if key not in known:
                raise exc
    new_for = await _count_new(uow, rows)
    if new_for:
        await _refresh(uow, new_for, config, now, causes, aliases)
    return len(new_for)


async def _count_new(uow: UnitOfWork, rows: list[dict[str, Any]]) -> list[str]:
    """Insert the orders not counted yet; the customer of each new one."""
    if not rows:
        return []
    if uow.session.bind.dialect.name == "postgresql":
        return await count_new_orders(uow.session, rows)
    known = await _counted(uow, [(row["source"], row["order_id"]) for row in rows])
    new = [row for row in rows if (row["source"], row["order_id"]) not in known]
    if new:
        await uow.session.execute(insert(CountedOrder), new)
    return [row["customer_id"] for row in new]


async def _counted(uow: UnitOfWork, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    counted: set[tuple[str, str]] = set()
    for part in chunks(keys, 500):
        rows = await uow.session.execute(select(CountedOrder.source, CountedOrder.order_id).where(
            tuple_(CountedOrder.source, CountedOrder.order_id).in_(part)))
        counted.update((r.source, r.order_id) for r in rows)
    return counted


async def count_refunds(uow: UnitOfWork, refunds: list[RefundToCount], config: IngestConfig, now: datetime, *,
                        causes: Mapping[str, Any] | None = None) -> None:
    """Keep each refund once. A refund for an order not seen yet is kept and counts when the order
    arrives (events come late and out of order); a refund never exceeds its order."""
    aliases = await resolve_aliases(uow.session, (r.customer_id for r in refunds))
    rows = []
    for refund in refunds:
        amount, occurred_at = _accepted(refund, config, now)
        rows.append({"source": refund.source, "refund_key": refund.refund_key, "order_id": refund.order_id,
                     "customer_id": aliases.get(refund.customer_id, refund.customer_id), "amount": amount,
                     "occurred_at": occurred_at})
    statement = dialect_insert(uow.session.bind.dialect.name, Refund.__table__).on_conflict_do_nothing()
    await uow.session.execute(statement, rows)
    await _refresh(uow, [row["customer_id"] for row in rows], config, now, causes, aliases)


async def _refresh(uow: UnitOfWork, customer_ids: Sequence[str], config: IngestConfig, now: datetime,
                   causes: Mapping[str, Any] | None, aliases: Mapping[str, str]) -> None:
    ids = sorted(set(customer_ids))
    await recompute_aggregates(uow.session, ids, now)
    resolved = {aliases.get(key, key): cause for key, cause in (causes or {}).items()}
    await rescore(uow, ids, config.scoring, now, causes=resolved)
