"""Use cases on segments: preview, create (dynamic or static), keep membership up to date."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from pydantic import TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.profile import membership
from services.profile.models import AttributeDefinition, Customer, Segment
from services.profile.segment_rules import MAX_DEPTH, Condition, depth
from services.profile.segment_sql import compile_condition, live_customers
from shared.db import utcnow
from shared.scheduler import periodic
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)
CONDITION = TypeAdapter(Condition)
DIRTY_BATCH = 2000


class SegmentRefused(ValueError):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field


async def attribute_types(session: AsyncSession) -> dict[str, str]:
    return {d.name: d.type for d in await session.scalars(select(AttributeDefinition))}


async def members_query(session: AsyncSession, rule: Condition, now: datetime) -> Any:
    """SELECT of the customer ids matching `rule` (raises SegmentRefused for a rule that cannot hold)."""
    if depth(rule) > MAX_DEPTH:
        raise SegmentRefused("definition", f"conditions nest at most {MAX_DEPTH} deep")
    try:
        predicate = compile_condition(rule, now=now, attribute_types=await attribute_types(session))
    except ValueError as exc:
        raise SegmentRefused("definition", str(exc)) from None
    return select(Customer.customer_id).where(live_customers(), predicate)


async def preview(session: AsyncSession, rule: Condition, *, sample_size: int = 20) -> tuple[int, list[str]]:
    members = await members_query(session, rule, utcnow())
    count = await session.scalar(select(func.count()).select_from(members.subquery()))
    sample = (await session.scalars(members.order_by(Customer.customer_id).limit(sample_size))).all()
    return int(count or 0), list(sample)


async def create_segment(uow: UnitOfWork, *, name: str, description: str | None, rule: Condition | None,
                         customer_ids: list[str] | None) -> tuple[Segment, list[str]]:
    """Store the segment and compute its members; a static segment's unknown ids are returned, not added."""
    now = utcnow()
    if await uow.session.scalar(select(Segment.segment_id).where(Segment.name == name)) is not None:
        raise SegmentRefused("name", f"a segment named {name!r} already exists")
    segment = Segment(segment_id=f"seg-{uuid.uuid4().hex[:16]}", name=name, description=description,
                      kind="dynamic" if rule is not None else "static",
                      definition=CONDITION.dump_python(rule, mode="json", by_alias=True) if rule is not None else None,
                      created_at=now, updated_at=now, computed_at=now)
    uow.session.add(segment)
    await uow.session.flush()
    if rule is not None:
        await membership.apply_membership(uow, segment, await members_query(uow.session, rule, now), now=now)
        return segment, []
    listed = select(Customer.customer_id).where(live_customers(), Customer.customer_id.in_(customer_ids or []))
    entered, _ = await membership.apply_membership(uow, segment, listed, now=now)
    return segment, sorted(set(customer_ids or []) - set(entered))


async def recompute(uow: UnitOfWork, segment: Segment, *, scope: list[str] | None = None) -> tuple[int, int]:
    """Recompute a dynamic segment (for `scope` customers only, or for all); returns (entered, exited)."""
    now = utcnow()
    rule = CONDITION.validate_python(segment.definition)
    entered, exited = await membership.apply_membership(uow, segment, await members_query(uow.session, rule, now),
                                                        now=now, scope=scope)
    if scope is None:
        segment.computed_at = now
    return len(entered), len(exited)


async def refresh_changed_customers(uow: UnitOfWork) -> int:
    """Recompute every dynamic segment for the customers whose data changed; returns how many."""
    async with uow:
        customer_ids, up_to = await membership.take_dirty(uow.session, DIRTY_BATCH)
        if not customer_ids:
            return 0
        for segment in await _dynamic_segments(uow.session):
            await recompute(uow, segment, scope=customer_ids)
        await membership.clear_dirty(uow.session, customer_ids, up_to)  # type: ignore[arg-type]
        await uow.commit()
    return len(customer_ids)


async def sweep(uow: UnitOfWork) -> None:
    """Recompute every dynamic segment in full: time windows move even when no event arrives."""
    async with uow:
        segment_ids = [s.segment_id for s in await _dynamic_segments(uow.session)]
    for segment_id in segment_ids:  # one transaction per segment keeps each one short
        async with uow:
            segment = await uow.session.get(Segment, segment_id)
            if segment is not None:
                await recompute(uow, segment)
                await uow.commit()


async def _dynamic_segments(session: AsyncSession) -> list[Segment]:
    return list((await session.scalars(select(Segment).where(Segment.kind == "dynamic")
                                       .order_by(Segment.segment_id))).all())


async def _refresh_job(app: FastAPI) -> None:
    while await refresh_changed_customers(app.state.unit_of_work()) == DIRTY_BATCH:
        pass


async def _sweep_job(app: FastAPI) -> None:
    await sweep(app.state.unit_of_work())


BACKGROUND_JOBS = (
    periodic("segments-refresh-changed", timedelta(seconds=1), _refresh_job),
    periodic("segments-sweep", timedelta(minutes=5), _sweep_job),
)
