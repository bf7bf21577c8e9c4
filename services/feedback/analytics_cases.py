"""How well cases are handled: resolution time, repeat complaints, detractors followed up in time, and
whether NPS recovers after a case is resolved."""
from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select

from services.feedback import domain, scores
from services.feedback.models import Complaint, Response
from shared.uow import UnitOfWork

FOLLOW_UP_CATEGORY = "detractor-follow-up"


async def resolution_times(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Cases resolved, mean hours to resolve and share within SLA, by tier and category."""
    rows = (await uow.session.execute(
        select(Complaint.tier, Complaint.category, Complaint.opened_at, Complaint.resolved_at, Complaint.sla_due_at)
        .where(Complaint.resolved_at.is_not(None)))).all()
    groups: dict[tuple[str | None, str], list[tuple[float, bool]]] = {}
    for row in rows:
        hours = (row.resolved_at - row.opened_at).total_seconds() / 3600
        groups.setdefault((row.tier, row.category), []).append((hours, domain.within_sla(row.resolved_at, row.sla_due_at)))
    return [{"tier": tier, "category": category, "resolved": len(items),
             "mean_hours": round(sum(h for h, _ in items) / len(items), 2),
             "within_sla_percent": round(100 * sum(ok for _, ok in items) / len(items), 2)}
            for (tier, category), items in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1]))]


async def repeat_complaint_rate(uow: UnitOfWork) -> dict[str, Any]:
    """Share of complaining customers who complained more than once."""
    per_customer = select(Complaint.customer_id, func.count().label("cases")).group_by(Complaint.customer_id).subquery()
    customers, repeaters = (await uow.session.execute(
        select(func.count(), func.coalesce(func.sum(case((per_customer.c.cases > 1, 1), else_=0)), 0)))).one()
    return {"customers": customers, "repeat_customers": int(repeaters),
            "repeat_rate": round(100 * int(repeaters) / customers, 2) if customers else None}


async def detractors_followed_up(uow: UnitOfWork) -> dict[str, Any]:
    """Of the follow-up cases opened for detractors, how many were resolved within their SLA."""
    rows = (await uow.session.execute(select(Complaint.resolved_at, Complaint.sla_due_at)
                                      .where(Complaint.category == FOLLOW_UP_CATEGORY))).all()
    in_time = sum(1 for row in rows if row.resolved_at is not None and domain.within_sla(row.resolved_at, row.sla_due_at))
    return {"cases": len(rows), "resolved_within_sla": in_time,
            "within_sla_percent": round(100 * in_time / len(rows), 2) if rows else None}


async def nps_around_resolution(uow: UnitOfWork) -> dict[str, Any]:
    """NPS of the customers with a resolved case, from their answers before and after the first resolution."""
    resolved = (select(Complaint.customer_id, func.min(Complaint.resolved_at).label("resolved_at"))
                .where(Complaint.resolved_at.is_not(None)).group_by(Complaint.customer_id).subquery())
    rows = (await uow.session.execute(
        select(Response.score, Response.responded_at >= resolved.c.resolved_at)
        .join(resolved, resolved.c.customer_id == Response.customer_id)
        .where(Response.kind == "nps", Response.score.is_not(None)))).all()
    before = [score for score, after in rows if not after]
    after = [score for score, after in rows if after]
    return {"before": _nps(before), "after": _nps(after)}


def _nps(scores_seen: list[int]) -> dict[str, Any]:
    result = scores.nps_of_scores(scores_seen)
    return {"nps": result.nps, "ci_low": result.ci_low, "ci_high": result.ci_high, "responses": len(scores_seen)}
