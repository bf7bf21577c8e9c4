"""Engagement's HTTP routes for loyalty, the customer projection and the contact policy."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import select

from services.engagement import contacts, loyalty, projection
from services.engagement.models import Audience, PointsEntry
from services.engagement.policy import ContactPolicy
from services.engagement.recommendations import recommend
from services.engagement.schemas import AudienceRead, LoyaltyRead, PointsEntryRead, RecommendationsRead, Recommendation, RedemptionCreate, RedemptionRead
from shared.db import utcnow
from shared.events.fields import CUSTOMER_ID_PATTERN
from shared.http.auth import require
from shared.http.problems import Problem
from shared.service import UowDep

router = APIRouter()
CustomerIdPath = Annotated[str, Path(pattern=CUSTOMER_ID_PATTERN, max_length=64)]


@router.get("/loyalty/{customer_id}", response_model=LoyaltyRead, tags=["loyalty"],
            dependencies=[Depends(require("engagement:read"))])
async def get_loyalty(customer_id: CustomerIdPath, uow: UowDep) -> LoyaltyRead:
    """The customer's points balance, level and latest movements."""
    async with uow:
        current = await loyalty.standing(uow, customer_id, utcnow())
        recent = (await uow.session.scalars(
            select(PointsEntry).where(PointsEntry.customer_id == customer_id)
            .order_by(PointsEntry.occurred_at.desc(), PointsEntry.id.desc()).limit(20))).all()
    return LoyaltyRead(customer_id=customer_id, balance=current.balance, level=current.level,
                       earned_last_year=current.earned_last_year,
                       recent=[PointsEntryRead.model_validate(e) for e in recent])


@router.post("/loyalty/{customer_id}/redemptions", response_model=RedemptionRead, status_code=201, tags=["loyalty"],
             dependencies=[Depends(require("engagement:write"))],
             responses={409: {"description": "The balance does not cover the points"}})
async def post_redemption(customer_id: CustomerIdPath, body: RedemptionCreate, uow: UowDep) -> RedemptionRead:
    """Spend points; refused with 409 when the balance does not cover them. The reference makes a retry harmless."""
    async with uow:
        balance = await loyalty.redeem_points(uow, customer_id, body.points, body.reference, utcnow())
        if balance is None:
            raise Problem(409, f"balance too low to redeem {body.points} points", title="Insufficient points")
        await uow.commit()
    return RedemptionRead(customer_id=customer_id, points=body.points, reference=body.reference, balance=balance)


@router.get("/audience/{customer_id}", response_model=AudienceRead, tags=["audience"],
            dependencies=[Depends(require("engagement:read"))])
async def get_audience(customer_id: CustomerIdPath, uow: UowDep) -> AudienceRead:
    """What engagement knows of a customer (from events) and its recent contacts with them."""
    async with uow:
        row = await uow.session.get(Audience, customer_id)
        history = await contacts.contact_history(uow, customer_id)
        if row is None and not history:
            raise Problem(404, f"engagement holds nothing on customer {customer_id!r}")
        segments = await projection.segments_of(uow, customer_id)
    return AudienceRead(
        customer_id=customer_id, timezone=row.timezone if row else None, locale=row.locale if row else None,
        birthday=row.birthday if row else None, do_not_contact=row.do_not_contact if row else False,
        consents=list(row.consents or []) if row else [], tier=row.tier if row else None,
        lifecycle_stage=row.lifecycle_stage if row else None, churn_risk=row.churn_risk if row else None,
        segments=segments,
        recent_contacts=[{"message_id": c.message_id, "channel": c.channel, "priority": c.priority,
                          "contacted_at": c.contacted_at} for c in history])


@router.get("/recommendations/{customer_id}", response_model=RecommendationsRead, tags=["recommendations"],
            dependencies=[Depends(require("engagement:read"))])
async def get_recommendations(customer_id: CustomerIdPath, uow: UowDep,
                              limit: Annotated[int, Query(ge=1, le=100)] = 10) -> RecommendationsRead:
    """Products for the customer: bought together with theirs, then popular in the categories they buy."""
    async with uow:
        ranked = await recommend(uow, customer_id, limit)
    return RecommendationsRead(customer_id=customer_id, items=[
        Recommendation(sku=c.sku, name=item.name if item else None, category=item.category if item else None,
                       score=round(c.score, 4), reason=c.reason) for c, item in ranked])


@router.get("/contact-policy", response_model=ContactPolicy, tags=["contact policy"],
            dependencies=[Depends(require("engagement:read"))])
async def get_contact_policy(uow: UowDep) -> ContactPolicy:
    """The contact policy in force: caps per tier, win-back reserve, quiet hours, channel order."""
    async with uow:
        return await contacts.load_policy(uow)


@router.put("/contact-policy", response_model=ContactPolicy, tags=["contact policy"],
            dependencies=[Depends(require("engagement:write"))])
async def put_contact_policy(policy: ContactPolicy, uow: UowDep) -> ContactPolicy:
    """Replace the contact policy; it applies to every decision made from now on."""
    async with uow:
        await contacts.save_policy(uow, policy)
        await uow.commit()
    return policy
