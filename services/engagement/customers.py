"""What happens to everything engagement holds on a customer when profile erases or merges them."""
from __future__ import annotations

from sqlalchemy import delete, select, update

from services.engagement.models import (
    Audience,
    Campaign,
    CampaignMember,
    ContactLedger,
    ContactRecord,
    Coupon,
    CustomerItem,
    LoyaltyAccount,
    Message,
    MessageLog,
    PointsEntry,
    SegmentMember,
)
from shared.uow import UnitOfWork

_PER_CUSTOMER = (Message, ContactRecord, ContactLedger, SegmentMember, PointsEntry, CampaignMember, LoyaltyAccount,
                 CustomerItem, Audience)


async def erase_customer(uow: UnitOfWork, customer_id: str) -> None:
    """Purge the projection, contact history, messages and their logs, points, purchases, personal coupons,
    and the id wherever a campaign's explicit audience lists it."""
    session = uow.session
    message_ids = select(Message.message_id).where(Message.customer_id == customer_id)
    await session.execute(delete(MessageLog).where(MessageLog.message_id.in_(message_ids)))
    for model in _PER_CUSTOMER:
        await session.execute(delete(model).where(model.customer_id == customer_id))  # type: ignore[attr-defined]
    await session.execute(delete(Coupon).where(Coupon.customer_id == customer_id))
    await session.execute(update(Coupon).where(Coupon.redeemed_by == customer_id).values(redeemed_by=None))
    for campaign in (await session.scalars(select(Campaign))).all():
        listed = campaign.definition.get("audience", {}).get("customer_ids") or []
        if customer_id in listed:
            audience = {**campaign.definition["audience"], "customer_ids": [c for c in listed if c != customer_id]}
            campaign.definition = {**campaign.definition, "audience": audience}


async def merge_customers(uow: UnitOfWork, merged: str, surviving: str) -> None:
    """The merged id's contacts, messages, points, purchases and coupons now count for the surviving one;
    its projection is dropped (profile sends the surviving customer's state)."""
    session = uow.session
    for model in (ContactRecord, PointsEntry, Message):
        await session.execute(update(model).where(model.customer_id == merged)  # type: ignore[attr-defined]
                              .values(customer_id=surviving))
    await session.execute(update(Coupon).where(Coupon.customer_id == merged).values(customer_id=surviving))
    owned = select(CustomerItem.sku).where(CustomerItem.customer_id == surviving)
    await session.execute(update(CustomerItem).where(CustomerItem.customer_id == merged, CustomerItem.sku.not_in(owned))
                          .values(customer_id=surviving))
    for model in (CustomerItem, SegmentMember, ContactLedger, LoyaltyAccount, Audience):
        await session.execute(delete(model).where(model.customer_id == merged))  # type: ignore[attr-defined]
