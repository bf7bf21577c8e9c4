"""Local copies of what scoring and feedback say about customers, for the 360 view and segments.

Each field keeps the time of the event that set it, so an event delivered late never overwrites a
newer one."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.profile import repository
from services.profile.models import CustomerFeedback, CustomerScore
from shared.events.catalogue import ChurnRiskChangedV1, FeedbackReceivedV1, LifecycleStageChangedV1, TierChangedV1

ScoreEvent = TierChangedV1 | LifecycleStageChangedV1 | ChurnRiskChangedV1


async def erased(session: AsyncSession, customer_ids: list[str]) -> set[str]:
    customers = await repository.customer_states(session, customer_ids)
    return {c.customer_id for c in customers.values() if c.erased_at is not None}


async def apply_score(session: AsyncSession, event: ScoreEvent, at: datetime) -> None:
    score = await session.get(CustomerScore, event.customer_id)
    if score is None:
        score = CustomerScore(customer_id=event.customer_id)
        session.add(score)
        await session.flush()  # so the next event of this batch finds it
    if isinstance(event, TierChangedV1) and _newer(at, score.tier_at):
        score.tier, score.clv, score.clv_currency, score.tier_at = event.tier, event.clv, event.currency, at
        if event.p_alive is not None and _newer(at, score.risk_at):
            score.p_alive = event.p_alive
    elif isinstance(event, LifecycleStageChangedV1) and _newer(at, score.stage_at):
        score.lifecycle_stage, score.stage_at = event.stage, at
    elif isinstance(event, ChurnRiskChangedV1) and _newer(at, score.risk_at):
        score.churn_risk, score.risk_at = event.risk, at
        if event.p_alive is not None:
            score.p_alive = event.p_alive


async def apply_feedback(session: AsyncSession, event: FeedbackReceivedV1, at: datetime) -> None:
    responded_at = event.responded_at or at
    latest = await session.get(CustomerFeedback, (event.customer_id, event.kind))
    if latest is None:
        session.add(CustomerFeedback(customer_id=event.customer_id, kind=event.kind, score=event.score,
                                     response_id=event.response_id, responded_at=responded_at))
        await session.flush()
    elif _newer(responded_at, latest.responded_at):
        latest.score, latest.response_id, latest.responded_at = event.score, event.response_id, responded_at


def _newer(at: datetime, current: datetime | None) -> bool:
    return current is None or at >= current
