"""Queries profile's handlers and routes need."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, literal, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.profile.domain import OrderKey
from services.profile.models import (
    Customer,
    CustomerFeedback,
    CustomerScore,
    CustomerTag,
    ExternalIdentity,
    Purchase,
    PurchaseItem,
    Refund,
    SearchKey,
)

READ_PROFILE = (selectinload(Customer.tags), selectinload(Customer.external_ids), selectinload(Customer.consents))
FULL_PROFILE = (*READ_PROFILE, selectinload(Customer.search_keys))


async def customers_by_id(session: AsyncSession, customer_ids: Iterable[str]) -> dict[str, Customer]:
    ids = list(set(customer_ids))
    found: dict[str, Customer] = {}
    for start in range(0, len(ids), 500):
        rows = await session.scalars(select(Customer).where(Customer.customer_id.in_(ids[start:start + 500])))
        found.update((c.customer_id, c) for c in rows)
    return found


@dataclass(frozen=True)
class CustomerState:
    """What ingestion needs to know of a customer: whether they are erased or merged away."""

    customer_id: str
    erased_at: datetime | None
    merged_into: str | None


async def customer_states(session: AsyncSession, customer_ids: Iterable[str]) -> dict[str, CustomerState]:
    """Like customers_by_id, without building ORM objects (the hot path of ingestion)."""
    ids = list(set(customer_ids))
    found: dict[str, CustomerState] = {}
    for start in range(0, len(ids), 1000):
        rows = await session.execute(select(Customer.customer_id, Customer.erased_at, Customer.merged_into)
                                     .where(Customer.customer_id.in_(ids[start:start + 1000])))
        found.update((r.customer_id, CustomerState(r.customer_id, r.erased_at, r.merged_into)) for r in rows)
    return found


async def load_customer(session: AsyncSession, customer_id: str, *, for_update: bool = True) -> Customer | None:
    """A customer with tags, external ids and consents loaded (and search keys, to change it)."""
    options = FULL_PROFILE if for_update else READ_PROFILE
    return await session.scalar(select(Customer).where(Customer.customer_id == customer_id).options(*options))


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


async def purchase_by_key(session: AsyncSession, key: OrderKey) -> Purchase | None:
    return await session.scalar(select(Purchase).where(Purchase.source == key.source,
                                                       Purchase.order_id == key.order_id))


def customer_search(*, name: str | None = None, email: str | None = None, phone: str | None = None,
                    tag: str | None = None, region: str | None = None, country: str | None = None,
                    source: str | None = None, external_id: str | None = None) -> Select[Any]:
    """Live customers matching every criterion given; digests stand in for name, e-mail and phone."""
    query = select(Customer).where(Customer.erased_at.is_(None), Customer.merged_into.is_(None))
    for kind, digest in (("name", name), ("email", email), ("phone", phone)):
        if digest is not None:
            query = query.where(Customer.customer_id.in_(
                select(SearchKey.customer_id).where(SearchKey.kind == kind, SearchKey.digest == digest)))
    if tag is not None:
        query = query.where(Customer.customer_id.in_(select(CustomerTag.customer_id).where(CustomerTag.tag == tag)))
    if external_id is not None or source is not None:
        matches = select(ExternalIdentity.customer_id)
        if external_id is not None:
            matches = matches.where(ExternalIdentity.external_id == external_id)
        if source is not None:
            matches = matches.where(ExternalIdentity.source == source)
        query = query.where(Customer.customer_id.in_(matches))
    if region is not None:
        query = query.where(Customer.region == region)
    if country is not None:
        query = query.where(Customer.country == country)
    return query


async def purchase_totals(session: AsyncSession, customer_id: str) -> dict[str, Any]:
    refunded = select(func.coalesce(func.sum(Refund.amount), 0)).where(Refund.customer_id == customer_id)
    row = (await session.execute(
        select(func.count(), func.coalesce(func.sum(Purchase.total_amount), 0),
               func.min(Purchase.occurred_at), func.max(Purchase.occurred_at), refunded.scalar_subquery())
        .where(Purchase.customer_id == customer_id)
    )).one()
    first, last = (_as_utc(session, v) for v in (row[2], row[3]))
    return {"orders": row[0], "gross": Decimal(row[1]), "refunded": Decimal(row[4] or 0),
            "first_purchase_at": first, "last_purchase_at": last}


async def categories_and_channels(session: AsyncSession, customer_id: str,
                                  top: int = 3) -> tuple[list[str], list[str]]:
    """The categories bought most (by units) and every sales channel used, in one round trip."""
    categories = (select(literal("category").label("what"), PurchaseItem.category.label("value"),
                         func.sum(PurchaseItem.quantity).label("units"))
                  .join(Purchase, Purchase.id == PurchaseItem.purchase_id)
                  .where(Purchase.customer_id == customer_id, PurchaseItem.category.is_not(None))
                  .group_by(PurchaseItem.category))
    channels = (select(literal("channel"), Purchase.channel, func.count())
                .where(Purchase.customer_id == customer_id, Purchase.channel.is_not(None))
                .group_by(Purchase.channel))
    rows = (await session.execute(union_all(categories, channels))).all()
    ranked = sorted((r for r in rows if r[0] == "category"), key=lambda r: (-r[2], r[1]))
    return [r[1] for r in ranked[:top]], sorted(r[1] for r in rows if r[0] == "channel")


async def scores(session: AsyncSession, customer_id: str) -> tuple[dict[str, Any], dict[str, int | None]]:
    """The latest scores and NPS/CSAT from the projections, in one round trip."""
    def score(column: Any) -> Any:
        return select(column).where(CustomerScore.customer_id == customer_id).scalar_subquery()

    def feedback(kind: str) -> Any:
        return select(CustomerFeedback.score).where(CustomerFeedback.customer_id == customer_id,
                                                    CustomerFeedback.kind == kind).scalar_subquery()
    names = ("tier", "lifecycle_stage", "clv", "clv_currency", "churn_risk", "p_alive")
    row = (await session.execute(select(*[score(getattr(CustomerScore, n)) for n in names],
                                        feedback("nps"), feedback("csat")))).one()
    return dict(zip(names, row[:6])), {"nps": row[6], "csat": row[7]}


def _as_utc(session: AsyncSession, value: Any) -> datetime | None:
    # Aggregates bypass the column type on SQLite, which hands back naive strings or datetimes.
    if value is None:
        return None
    return Purchase.occurred_at.type.process_result_value(  # type: ignore[no-any-return]
        datetime.fromisoformat(value) if isinstance(value, str) else value, session.bind.dialect)
