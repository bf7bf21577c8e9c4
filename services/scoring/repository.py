"""Queries the scoring use cases need: batched reads and writes of aggregates, facts and scores."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Callable, Iterable, Sequence

import numpy as np
from sqlalchemy import and_, case, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.models import Complaint, CountedOrder, CustomerAggregate, CustomerAlias, CustomerScore, Refund
from services.scoring.scorer import NO_FINGERPRINT, Facts
from shared.db import dialect_insert

CHUNK = 1000
_AGGREGATE_COLUMNS = ("purchase_count", "purchase_days", "total_spend", "refunded", "first_purchase_at",
                      "last_purchase_at", "first_purchase_day", "last_purchase_day", "updated_at")


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def upsert(session: AsyncSession, table: Any, keys: list[str], update: Iterable[str],
           where: Callable[[Any], Any] | None = None) -> Any:
    """INSERT ... ON CONFLICT (keys) DO UPDATE the `update` columns; `where(excluded)` guards the update."""
    statement = dialect_insert(session.bind.dialect.name, table)
    return statement.on_conflict_do_update(index_elements=keys,
                                           where=where(statement.excluded) if where is not None else None,
                                           set_={name: statement.excluded[name] for name in update})


async def resolve_aliases(session: AsyncSession, customer_ids: Iterable[str]) -> dict[str, str]:
    """Merged ids -> surviving ids, for the ids given that were merged away."""
    if session.bind.dialect.name == "postgresql":
        from services.scoring.repository_orders import resolve_aliases_at_once
        return await resolve_aliases_at_once(session, customer_ids)
    ids = sorted(set(customer_ids))
    aliases: dict[str, str] = {}
    for part in chunks(ids):
        rows = await session.execute(select(CustomerAlias).where(CustomerAlias.merged_customer_id.in_(part)))
        aliases.update({a.merged_customer_id: a.surviving_customer_id for a in rows.scalars()})
    return aliases


def net_orders(customer_ids: Sequence[str] | None = None, before_day: int | None = None) -> Any:
    """Orders with what was refunded of each; an order refunded in full no longer counts as a purchase."""
    refunds = select(Refund.source, Refund.order_id, func.sum(Refund.amount).label("refunded"))
    if customer_ids is not None:
        refunds = refunds.where(Refund.customer_id.in_(customer_ids))
    refunds = refunds.group_by(Refund.source, Refund.order_id).subquery()
    refunded = func.coalesce(refunds.c.refunded, 0)
    orders = select(
        CountedOrder.customer_id, CountedOrder.day, CountedOrder.occurred_at,
        (CountedOrder.amount - refunded).label("net"),
        case((refunded > CountedOrder.amount, CountedOrder.amount), else_=refunded).label("refunded"),
        or_(refunds.c.refunded.is_(None), refunds.c.refunded < CountedOrder.amount).label("kept"),
    ).outerjoin(refunds, and_(refunds.c.source == CountedOrder.source, refunds.c.order_id == CountedOrder.order_id))
    if customer_ids is not None:
        orders = orders.where(CountedOrder.customer_id.in_(customer_ids))
    if before_day is not None:
        orders = orders.where(CountedOrder.day < before_day)
    return orders.subquery()


async def recompute_aggregates(session: AsyncSession, customer_ids: Sequence[str], now: datetime) -> None:
    """Rebuild the purchase columns of these customers' aggregates from their orders and refunds, so late
    and out-of-order events land where they belong: one statement on PostgreSQL, two per chunk of customers
    elsewhere."""
    if session.bind.dialect.name == "postgresql":
        from services.scoring.repository_orders import rebuild_aggregates
        await rebuild_aggregates(session, sorted(set(customer_ids)), now)
        return
    for part in chunks(sorted(set(customer_ids))):
        orders = net_orders(part)
        kept = orders.c.kept
        rows = await session.execute(select(
            orders.c.customer_id, func.sum(case((kept, 1), else_=0)).label("purchase_count"),
            func.count(distinct(case((kept, orders.c.day)))).label("purchase_days"),
            func.sum(case((kept, orders.c.net), else_=0)).label("total_spend"),
            func.sum(orders.c.refunded).label("refunded"),
            func.min(case((kept, orders.c.occurred_at))).label("first_purchase_at"),
            func.max(case((kept, orders.c.occurred_at))).label("last_purchase_at"),
            func.min(case((kept, orders.c.day))).label("first_purchase_day"),
            func.max(case((kept, orders.c.day))).label("last_purchase_day"),
        ).group_by(orders.c.customer_id))
        found = {row.customer_id: row._asdict() for row in rows}
        values = [_aggregate_values(customer_id, found.get(customer_id), now) for customer_id in part]
        await session.execute(upsert(session, CustomerAggregate.__table__, ["customer_id"], _AGGREGATE_COLUMNS),
                              values)


def _aggregate_values(customer_id: str, row: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    empty = {"purchase_count": 0, "purchase_days": 0, "total_spend": Decimal(0), "refunded": Decimal(0),
             "first_purchase_at": None, "last_purchase_at": None, "first_purchase_day": None,
             "last_purchase_day": None}
    values = {**empty, **(row or {}), "customer_id": customer_id, "updated_at": now}
    for money in ("total_spend", "refunded"):
        values[money] = Decimal(str(values[money] or 0))
    return values


async def load_facts(session: AsyncSession, customer_ids: Sequence[str] | None = None) -> Facts:
    """Facts of the given customers (or of everybody) with their stored scores, as arrays: on PostgreSQL
    in one query (everybody: in a few side by side, from one snapshot), elsewhere in one query per chunk."""
    if session.bind.dialect.name == "postgresql":
        from services.scoring.repository_bulk import load_facts_in_bulk
        return await load_facts_in_bulk(session, customer_ids)
    open_cases = (select(Complaint.customer_id, func.count().label("open"))
                  .where(Complaint.opened_at.is_not(None), Complaint.resolved_at.is_(None))
                  .group_by(Complaint.customer_id).subquery())
    aggregate = CustomerAggregate
    query = (select(aggregate.customer_id, aggregate.purchase_days, aggregate.first_purchase_day,
                    aggregate.last_purchase_day, aggregate.total_spend, aggregate.last_nps, aggregate.last_nps_at,
                    func.coalesce(open_cases.c.open, 0), CustomerScore.tier, CustomerScore.stage,
                    CustomerScore.churn_risk, CustomerScore.fingerprint)
             .outerjoin(CustomerScore, CustomerScore.customer_id == aggregate.customer_id)
             .outerjoin(open_cases, open_cases.c.customer_id == aggregate.customer_id))
    rows: list[Any] = []
    if customer_ids is None:
        rows = list(await session.execute(query))
    else:
        for part in chunks(sorted(set(customer_ids))):
            rows += list(await session.execute(query.where(aggregate.customer_id.in_(part))))
    return facts_from_rows(rows)


def facts_from_rows(rows: list[Any]) -> Facts:
    columns = list(zip(*rows)) if rows else [()] * 12
    nps_at = np.array([np.nan if t is None else t.timestamp() / 86_400 for t in columns[6]], dtype=float)
    fingerprint = np.array([NO_FINGERPRINT if v is None else v for v in columns[11]], dtype=np.int64)
    return facts_from_columns([*columns[:6], np.floor(nps_at), *columns[7:11], fingerprint])


def facts_from_columns(columns: Sequence[Any]) -> Facts:
    """Facts from columns in the order the loaders select them: the facts, then the stored tier, stage,
    risk and fingerprint of the scores."""
    def floats(values: Any) -> np.ndarray:
        return np.array(values, dtype=float)  # None -> NaN

    def objects(values: Any) -> np.ndarray:
        return np.array(values, dtype=object)

    customer_id, purchase_days, first_day, last_day, total_spend, nps, nps_day, open_complaints = columns[:8]
    tier, stage, risk, fingerprint = columns[8:]
    return Facts(customer_id=objects(customer_id), purchase_days=np.array(purchase_days, dtype=np.int64),
                 first_day=floats(first_day), last_day=floats(last_day), total_spend=floats(total_spend),
                 nps=floats(nps), nps_day=floats(nps_day), open_complaints=np.array(open_complaints, dtype=np.int64),
                 previous_tier=objects(tier), previous_stage=objects(stage), previous_risk=objects(risk),
                 stored_fingerprint=np.asarray(fingerprint, dtype=np.int64))
