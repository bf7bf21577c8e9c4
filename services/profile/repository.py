"""Queries profile's handlers and routes need."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.profile.domain import OrderKey
from services.profile.models import (
    Customer,
    CustomerTag,
    ExternalIdentity,
    Purchase,
    SearchKey,
)
from shared.db import one_of

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
    dialect = session.bind.dialect.name
    step = max(len(ids), 1) if dialect == "postgresql" else 1000  # one array parameter on PostgreSQL
    found: dict[str, CustomerState] = {}
    for start in range(0, len(ids), step):
        rows = await session.execute(select(Customer.customer_id, Customer.erased_at, Customer.merged_into)
                                     .where(one_of(dialect, Customer.customer_id, ids[start:start + step])))
        found.update((r.customer_id, CustomerState(r.customer_id, r.erased_at, r.merged_into)) for r in rows)
    return found


async def load_customer(session: AsyncSession, customer_id: str, *, for_update: bool = True) -> Customer | None:
    """A customer with tags, external ids and consents loaded (and search keys, to change it)."""
    options = FULL_PROFILE if for_update else READ_PROFILE
    return await session.scalar(select(Customer).where(Customer.customer_id == customer_id).options(*options))


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
