"""What feedback learns about customers from other services' events, and how it forgets them."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete

from services.feedback.handlers_invitations import schedule_invitation
from services.feedback.handlers_rollup import uncount_customer
from services.feedback.models import CUSTOMER_TABLES, CustomerStanding
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
