"""Coupons: batches of unique, unguessable codes, each redeemable once."""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Literal

from sqlalchemy import func, or_, select, update

from services.engagement.models import Coupon
from shared.db import dialect_insert
from shared.uow import UnitOfWork

# No 0/O, 1/I/L: codes are read aloud and typed from paper receipts.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
Refusal = Literal["unknown", "already_redeemed", "expired", "not_yours"]


def new_code(prefix: str, length: int = 10) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


async def issue_batch(uow: UnitOfWork, *, batch_id: str, count: int, prefix: str, discount: str,
                      expires_at: datetime | None, customer_ids: list[str] | None, now: datetime) -> list[str]:
    """Create `count` codes (one per customer when customer_ids is given); collisions are drawn again."""
    owners: list[str | None] = list(customer_ids) if customer_ids else [None] * count
    issued: list[str] = []
    insert = dialect_insert(uow.session.bind.dialect.name, Coupon.__table__)
    while owners:
        rows = [{"code": new_code(prefix), "batch_id": batch_id, "customer_id": owner, "discount": discount,
                 "expires_at": expires_at, "created_at": now} for owner in owners]
        await uow.session.execute(insert.on_conflict_do_nothing(), rows)
        stored = set((await uow.session.scalars(select(Coupon.code).where(
            Coupon.code.in_([r["code"] for r in rows]), Coupon.batch_id == batch_id))).all())
        issued += [r["code"] for r in rows if r["code"] in stored]
        owners = [r["customer_id"] for r in rows if r["code"] not in stored]
    return issued


async def redeem(uow: UnitOfWork, code: str, customer_id: str, order_reference: str | None,
                 now: datetime) -> Refusal | None:
    """Redeem once; a conditional update, so two concurrent redemptions cannot both succeed."""
    redeemed = await uow.session.execute(update(Coupon).where(
        Coupon.code == code, Coupon.redeemed_at.is_(None),
        or_(Coupon.expires_at.is_(None), Coupon.expires_at > now),
        or_(Coupon.customer_id.is_(None), Coupon.customer_id == customer_id),
    ).values(redeemed_at=now, redeemed_by=customer_id, order_reference=order_reference))
    if redeemed.rowcount == 1:  # type: ignore[attr-defined]
        return None
    coupon = await uow.session.get(Coupon, code, populate_existing=True)
    if coupon is None:
        return "unknown"
    if coupon.redeemed_at is not None:
        return "already_redeemed"
    if coupon.expires_at is not None and coupon.expires_at <= now:
        return "expired"
    return "not_yours"


async def batch_counts(uow: UnitOfWork, batch_id: str) -> tuple[int, int]:
    """(issued, redeemed) of a batch."""
    row = (await uow.session.execute(select(func.count(), func.count(Coupon.redeemed_at))
                                     .where(Coupon.batch_id == batch_id))).one()
    return int(row[0]), int(row[1])
