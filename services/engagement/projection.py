"""The customer projection: profile's and scoring's events folded into the `audience` table."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select

from services.engagement.models import Audience, SegmentMember
from services.engagement.policy import Recipient
from shared.db import dialect_insert, utcnow
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class Snapshot:
    """The shareable attributes a customer-registered / -updated event carries (whole state)."""

    customer_id: str
    timezone: str | None
    locale: str | None
    birthday: str | None
    do_not_contact: bool
    consents: list[str]  # granted "channel:purpose"


async def apply_snapshot(uow: UnitOfWork, snapshot: Snapshot) -> None:
    values = {"timezone": snapshot.timezone, "locale": snapshot.locale, "birthday": snapshot.birthday,
              "do_not_contact": snapshot.do_not_contact, "consents": sorted(set(snapshot.consents))}
    await _upsert(uow, snapshot.customer_id, values)


async def apply_standing(uow: UnitOfWork, customer_id: str, **standing: str) -> None:
    """Tier, lifecycle stage or churn risk from scoring."""
    await _upsert(uow, customer_id, standing)


async def _upsert(uow: UnitOfWork, customer_id: str, values: dict[str, Any]) -> None:
    session = uow.session
    now = utcnow()
    statement = dialect_insert(session.bind.dialect.name, Audience.__table__).values(
        **{"customer_id": customer_id, "do_not_contact": False, "consents": [], "updated_at": now, **values})
    await session.execute(statement.on_conflict_do_update(
        index_elements=["customer_id"], set_={**values, "updated_at": now}))


async def apply_membership(uow: UnitOfWork, segment_id: str, customer_id: str, change: str, at: datetime) -> None:
    session = uow.session
    if change == "exited":
        await session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment_id,
                                                          SegmentMember.customer_id == customer_id))
        return
    statement = dialect_insert(session.bind.dialect.name, SegmentMember.__table__).values(
        segment_id=segment_id, customer_id=customer_id, entered_at=at)
    await session.execute(statement.on_conflict_do_nothing())


async def recipient(uow: UnitOfWork, customer_id: str) -> Recipient:
    """The policy's view of a customer; an unknown customer has no consents and no tier."""
    return recipient_from(customer_id, await uow.session.get(Audience, customer_id, populate_existing=True))


def recipient_from(customer_id: str, row: Audience | Row[Any] | None) -> Recipient:
    """The policy's view of a customer, from their audience entry (an ORM object or a row of the table)."""
    if row is None:
        return Recipient(customer_id)
    consents = frozenset(tuple(entry.split(":", 1)) for entry in row.consents or [] if ":" in entry)
    return Recipient(customer_id, timezone=row.timezone, tier=row.tier, do_not_contact=row.do_not_contact,
                     consents=consents)  # type: ignore[arg-type]


async def segments_of(uow: UnitOfWork, customer_id: str) -> list[str]:
    return list((await uow.session.scalars(select(SegmentMember.segment_id).where(
        SegmentMember.customer_id == customer_id).order_by(SegmentMember.segment_id))).all())
