"""Scoring's use cases for customers and their satisfaction: registration, feedback, complaints,
merges and erasure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import delete, or_, update

from services.scoring.handlers import IngestConfig
from services.scoring.models import (
    Complaint,
    CountedOrder,
    CustomerAggregate,
    CustomerAlias,
    CustomerScore,
    Refund,
    ScoreChange,
)
from services.scoring.repository import recompute_aggregates, resolve_aliases, upsert
from services.scoring.rescoring import rescore
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class NpsAnswer:
    customer_id: str
    score: int
    answered_at: datetime


@dataclass(frozen=True)
class ComplaintChange:
    case_id: str
    customer_id: str
    severity: str
    opened_at: datetime | None = None
    resolved_at: datetime | None = None


async def register_customers(uow: UnitOfWork, registered: Mapping[str, datetime], config: IngestConfig,
                             now: datetime, *, causes: Mapping[str, Any] | None = None) -> None:
    """A registered customer is known before buying: a prospect."""
    aliases = await resolve_aliases(uow.session, registered)
    rows = [{"customer_id": aliases.get(c, c), "registered_at": at, "updated_at": now} for c, at in registered.items()]
    table = CustomerAggregate.__table__
    await uow.session.execute(upsert(uow.session, table, ["customer_id"], ["registered_at"],
                                     where=lambda _: table.c.registered_at.is_(None)), rows)
    await rescore(uow, [row["customer_id"] for row in rows], config.scoring, now, causes=causes)


async def record_nps(uow: UnitOfWork, answers: list[NpsAnswer], config: IngestConfig, now: datetime, *,
                     causes: Mapping[str, Any] | None = None) -> None:
    """Keep each customer's latest NPS answer (a late, older answer does not replace a newer one)."""
    aliases = await resolve_aliases(uow.session, (a.customer_id for a in answers))
    latest: dict[str, NpsAnswer] = {}
    for answer in answers:
        customer_id = aliases.get(answer.customer_id, answer.customer_id)
        if customer_id not in latest or latest[customer_id].answered_at < answer.answered_at:
            latest[customer_id] = answer
    table = CustomerAggregate.__table__
    statement = upsert(uow.session, table, ["customer_id"], ["last_nps", "last_nps_at"],
                       where=lambda new: or_(table.c.last_nps_at.is_(None), table.c.last_nps_at < new.last_nps_at))
    await uow.session.execute(statement, [{"customer_id": c, "last_nps": a.score, "last_nps_at": a.answered_at,
                                           "updated_at": now} for c, a in latest.items()])
    await rescore(uow, list(latest), config.scoring, now, causes=causes)


async def record_complaints(uow: UnitOfWork, changes: list[ComplaintChange], config: IngestConfig, now: datetime, *,
                            causes: Mapping[str, Any] | None = None) -> None:
    """A complaint is open once opened and until resolved, whichever event arrives first."""
    aliases = await resolve_aliases(uow.session, (c.customer_id for c in changes))
    table = Complaint.__table__
    for column in ("opened_at", "resolved_at"):
        rows = [{"case_id": c.case_id, "customer_id": aliases.get(c.customer_id, c.customer_id),
                 "severity": c.severity, "opened_at": c.opened_at, "resolved_at": c.resolved_at}
                for c in changes if getattr(c, column) is not None]
        if rows:
            await uow.session.execute(upsert(uow.session, table, ["case_id"], [column, "severity"]), rows)
    await rescore(uow, sorted({aliases.get(c.customer_id, c.customer_id) for c in changes}), config.scoring, now,
                  causes=causes)


async def merge_customers(uow: UnitOfWork, surviving: str, merged: str, config: IngestConfig, now: datetime, *,
                          cause: Any = None) -> None:
    """The merged customer's orders, refunds, complaints and history become the survivor's; its later
    events count for the survivor too."""
    for model in (CountedOrder, Refund, Complaint, ScoreChange):
        await uow.session.execute(update(model).where(model.customer_id == merged).values(customer_id=surviving))
    await uow.session.execute(update(CustomerAlias).where(CustomerAlias.surviving_customer_id == merged)
                              .values(surviving_customer_id=surviving))
    await uow.session.execute(upsert(uow.session, CustomerAlias.__table__, ["merged_customer_id"],
                                     ["surviving_customer_id"]),
                              [{"merged_customer_id": merged, "surviving_customer_id": surviving}])
    await uow.session.execute(delete(CustomerAggregate).where(CustomerAggregate.customer_id == merged))
    await uow.session.execute(delete(CustomerScore).where(CustomerScore.customer_id == merged))
    await recompute_aggregates(uow.session, [surviving], now)
    await rescore(uow, [surviving], config.scoring, now, causes={surviving: cause} if cause else None)


async def forget_customer(uow: UnitOfWork, customer_id: str) -> None:
    """Erasure: nothing about the customer stays behind."""
    for model in (CustomerAggregate, CustomerScore, CountedOrder, Refund, Complaint, ScoreChange):
        await uow.session.execute(delete(model).where(model.customer_id == customer_id))
    await uow.session.execute(delete(CustomerAlias).where(or_(CustomerAlias.merged_customer_id == customer_id,
                                                              CustomerAlias.surviving_customer_id == customer_id)))
