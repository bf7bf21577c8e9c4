"""What feedback learns about customers from other services' events, and how it forgets them."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from services.feedback.handlers_invitations import schedule_invitation
from services.feedback.handlers_rollup import uncount_customer
from services.feedback.models import (
    CUSTOMER_TABLES,
    CaseNote,
    Complaint,
    CustomerStanding,
    FollowUp,
    Invitation,
    Response,
    ResponseScore,
    ResponseTheme,
    ScheduledInvitation,
)
from services.feedback.settings import FeedbackSettings
from shared.db import utcnow
from shared.uow import UnitOfWork


async def standing_of(uow: UnitOfWork, customer_id: str) -> CustomerStanding:
    standing = await uow.session.get(CustomerStanding, customer_id)
    if standing is None:
        standing = CustomerStanding(customer_id=customer_id, tier=None, churn_risk=None, stage=None,
                                    first_purchase_at=None, updated_at=utcnow())
        uow.session.add(standing)
        await uow.session.flush()  # so the next event of this customer in the batch finds it
    return standing


async def note_standing(uow: UnitOfWork, customer_id: str, **attributes: str) -> None:
    """Keep the latest tier, churn risk or lifecycle stage scoring published for the customer."""
    standing = await standing_of(uow, customer_id)
    for name, value in attributes.items():
        setattr(standing, name, value)
    standing.updated_at = utcnow()


async def note_purchase(uow: UnitOfWork, settings: FeedbackSettings, customer_id: str,
                        occurred_at: datetime) -> None:
    """The first purchase feedback hears of schedules the first-purchase survey N hours later."""
    standing = await standing_of(uow, customer_id)
    first_seen = standing.first_purchase_at is None
    if first_seen or occurred_at < standing.first_purchase_at:  # type: ignore[operator]
        standing.first_purchase_at = occurred_at
    standing.updated_at = utcnow()
    if first_seen and settings.first_purchase_survey_id:
        await schedule_invitation(
            uow, customer_id=customer_id, trigger="first-purchase", trigger_key="first-purchase",
            survey_id=settings.first_purchase_survey_id, now=utcnow(),
            due_at=occurred_at + timedelta(hours=settings.first_purchase_delay_hours))


async def forget_customer(uow: UnitOfWork, customer_id: str) -> None:
    """Erasure: every row naming the customer goes (responses, cases, notes, invitations, tasks), and
    their scores leave the daily counts."""
    await uncount_customer(uow, customer_id)
    for model in CUSTOMER_TABLES:
        await uow.session.execute(delete(model).where(model.customer_id == customer_id))  # type: ignore[attr-defined]


#: Rows that simply change hands when two customers turn out to be one.
_MOVED_ON_MERGE = (Invitation, Response, ResponseTheme, ResponseScore, Complaint, CaseNote, FollowUp)


async def merge_customers(uow: UnitOfWork, merged: str, surviving: str) -> None:
    """The merged customer's invitations (and so its survey cooldown), responses, cases, notes and
    follow-ups become the surviving customer's, a statement per table. A trigger both have scheduled is
    kept once; the standing keeps the survivor's values, filled in from the merged one, and the earlier
    first purchase. Replaying the event finds nothing left under the merged id and changes nothing."""
    session = uow.session
    for model in _MOVED_ON_MERGE:
        await session.execute(update(model).where(model.customer_id == merged)  # type: ignore[attr-defined]
                              .values(customer_id=surviving))
    scheduled = ScheduledInvitation.__table__
    taken = select(scheduled.c.trigger_key).where(scheduled.c.customer_id == surviving).scalar_subquery()
    await session.execute(update(scheduled).where(scheduled.c.customer_id == merged,
                                                  scheduled.c.trigger_key.not_in(taken))
                          .values(customer_id=surviving))
    await session.execute(delete(scheduled).where(scheduled.c.customer_id == merged))
    await _merge_standing(uow, merged, surviving)


async def _merge_standing(uow: UnitOfWork, merged: str, surviving: str) -> None:
    gone = await uow.session.get(CustomerStanding, merged)
    if gone is None:
        return
    kept = await uow.session.get(CustomerStanding, surviving)
    if kept is None:
        gone.customer_id = surviving
        gone.updated_at = utcnow()
        return
    kept.tier = kept.tier or gone.tier
    kept.churn_risk = kept.churn_risk or gone.churn_risk
    kept.stage = kept.stage or gone.stage
    firsts = [at for at in (kept.first_purchase_at, gone.first_purchase_at) if at is not None]
    kept.first_purchase_at = min(firsts) if firsts else None
    kept.updated_at = utcnow()
    await uow.session.delete(gone)
