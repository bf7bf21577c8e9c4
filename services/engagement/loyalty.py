"""Loyalty use cases beyond earning: balance and level, redemption against the balance, expiry."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select, update

from services.engagement.domain import level_for, points_to_expire
from services.engagement.models import LoyaltyAccount, PointsEntry
from shared.db import dialect_insert
from shared.uow import UnitOfWork

REDEMPTION, EXPIRY = "redemption", "expiry"


@dataclass(frozen=True)
class Standing:
    balance: int
    level: str
    earned_last_year: int


async def standing(uow: UnitOfWork, customer_id: str, now: datetime) -> Standing:
    balance, earned = (await uow.session.execute(select(
        func.coalesce(func.sum(PointsEntry.points), 0),
        func.coalesce(func.sum(case(((PointsEntry.points > 0) & (PointsEntry.occurred_at > now - timedelta(days=365)),
                                     PointsEntry.points), else_=0)), 0),
    ).where(PointsEntry.customer_id == customer_id))).one()
    return Standing(int(balance), level_for(int(earned)), int(earned))


async def redeem_points(uow: UnitOfWork, customer_id: str, points: int, reference: str, now: datetime) -> int | None:
    """Spend points if the balance covers them; returns the new balance, or None when it does not.
    The account row lock keeps two concurrent redemptions from both spending the same points."""
    session = uow.session
    await session.execute(dialect_insert(session.bind.dialect.name, LoyaltyAccount.__table__)
                          .values(customer_id=customer_id, version=0).on_conflict_do_nothing())
    await session.execute(update(LoyaltyAccount).where(LoyaltyAccount.customer_id == customer_id)
                          .values(version=LoyaltyAccount.version + 1))
    reference = f"{customer_id}/{reference}"
    if await session.scalar(select(PointsEntry.id).where(PointsEntry.reason == REDEMPTION,
                                                         PointsEntry.reference == reference)) is not None:
        return (await standing(uow, customer_id, now)).balance  # a retried redemption spends nothing more
    balance = (await standing(uow, customer_id, now)).balance
    if balance < points:
        return None
    session.add(PointsEntry(customer_id=customer_id, points=-points, reason=REDEMPTION,
                            reference=reference, occurred_at=now))
    return balance - points


async def expire_points(uow: UnitOfWork, cutoff: datetime, now: datetime) -> int:
    """Expire, per customer, the points earned before `cutoff` that were neither redeemed nor expired."""
    rows = (await uow.session.execute(select(
        PointsEntry.customer_id,
        func.sum(case(((PointsEntry.points > 0) & (PointsEntry.occurred_at < cutoff), PointsEntry.points), else_=0)),
        -func.sum(case((PointsEntry.points < 0, PointsEntry.points), else_=0)),
    ).group_by(PointsEntry.customer_id))).all()
    entries = [{"customer_id": customer_id, "points": -points_to_expire(int(old), int(used)), "reason": EXPIRY,
                "reference": f"{customer_id}/{cutoff.date().isoformat()}", "occurred_at": now}
               for customer_id, old, used in rows if points_to_expire(int(old), int(used)) > 0]
    if entries:
        await uow.session.execute(dialect_insert(uow.session.bind.dialect.name, PointsEntry.__table__)
                                  .on_conflict_do_nothing(), entries)
    return len(entries)
