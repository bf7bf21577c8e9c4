"""Segment routes: preview a definition, create, list, members (now or at a past time), CSV export."""
from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select

from services.profile import segment_handlers
from services.profile.api_customers import Read, Write
from services.profile.membership import MEMBERSHIPS, members_at
from services.profile.models import Segment
from services.profile.schemas_segments import (
    MemberRead,
    PreviewRead,
    SegmentCreate,
    SegmentCreated,
    SegmentPreview,
    SegmentRead,
)
from services.profile.segment_handlers import SegmentRefused
from shared.http.idempotency import IdempotencyDep
from shared.http.pagination import Page, PageDep, encode_cursor
from shared.http.problems import Problem
from shared.service import UowDep

router = APIRouter(tags=["segments"])
SegmentIdPath = Annotated[str, Path(max_length=64)]
EXPORT_CHUNK = 5000


@router.post("/segments/preview", response_model=PreviewRead, dependencies=[Read])
async def preview_segment(body: SegmentPreview, uow: UowDep) -> PreviewRead:
    """How many customers an unsaved definition matches, with a sample of them."""
    async with uow:
        with _refusals():
            count, sample = await segment_handlers.preview(uow.session, body.definition)
    return PreviewRead(count=count, sample=sample)


@router.post("/segments", status_code=201, response_model=SegmentCreated, dependencies=[Write],
             responses={409: {"description": "A segment with this name exists"}})
async def create_segment(body: SegmentCreate, uow: UowDep, idempotency: IdempotencyDep) -> Response:
    """Create a dynamic segment (kept up to date) or a static one (an uploaded list); its members are
    computed at once and each entry is published as `segment-membership-changed`."""
    async with uow:
        async def create() -> tuple[int, SegmentCreated]:
            with _refusals():
                segment, skipped = await segment_handlers.create_segment(
                    uow, name=body.name, description=body.description, rule=body.definition,
                    customer_ids=body.customer_ids)
            read = await _read(uow.session, segment)
            return 201, SegmentCreated(**read.model_dump(), skipped_customer_ids=skipped)
        return await idempotency.run(uow, create)


@router.get("/segments", response_model=Page[SegmentRead], dependencies=[Read])
async def list_segments(uow: UowDep, page: PageDep) -> Page[SegmentRead]:
    """Segments in id order."""
    query = select(Segment).order_by(Segment.segment_id).limit(page.limit)
    if page.after:
        query = query.where(Segment.segment_id > str(page.after[0]))
    async with uow:
        segments = (await uow.session.scalars(query)).all()
        items = [await _read(uow.session, s) for s in segments]
    return Page(items=items, next_cursor=encode_cursor([segments[-1].segment_id]) if len(segments) == page.limit
                else None)


@router.get("/segments/{segment_id}", response_model=SegmentRead, dependencies=[Read])
async def get_segment(segment_id: SegmentIdPath, uow: UowDep) -> SegmentRead:
    """The segment, with its current member count."""
    async with uow:
        return await _read(uow.session, await _existing(uow.session, segment_id))


@router.get("/segments/{segment_id}/members", response_model=Page[MemberRead], dependencies=[Read])
async def list_members(
    segment_id: SegmentIdPath, uow: UowDep, page: PageDep,
    at: Annotated[datetime | None, Query(description="RFC 3339 time: the members at that moment")] = None,
) -> Page[MemberRead]:
    """Current members in customer id order, or those of a past moment with `at`."""
    moment = _moment(at)
    query = members_at(segment_id, moment).order_by(MEMBERSHIPS.c.customer_id).limit(page.limit)
    if page.after:
        query = query.where(MEMBERSHIPS.c.customer_id > str(page.after[0]))
    async with uow:
        await _existing(uow.session, segment_id)
        rows = (await uow.session.execute(query)).all()
    return Page(items=[MemberRead(customer_id=r.customer_id, entered_at=r.entered_at) for r in rows],
                next_cursor=encode_cursor([rows[-1].customer_id]) if len(rows) == page.limit else None)


@router.get("/segments/{segment_id}/export", dependencies=[Read], response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}}})
async def export_members(segment_id: SegmentIdPath, request: Request, uow: UowDep) -> StreamingResponse:
    """The current members as CSV (customer_id, entered_at), streamed in chunks."""
    async with uow:
        segment = await _existing(uow.session, segment_id)
    unit_of_work = request.app.state.unit_of_work

    async def rows() -> AsyncIterator[str]:
        yield "customer_id,entered_at\r\n"
        after = ""
        while True:
            async with unit_of_work() as chunk_uow:
                chunk = (await chunk_uow.session.execute(
                    members_at(segment.segment_id, None).where(MEMBERSHIPS.c.customer_id > after)
                    .order_by(MEMBERSHIPS.c.customer_id).limit(EXPORT_CHUNK))).all()
            if not chunk:
                return
            buffer = io.StringIO()
            csv.writer(buffer).writerows((r.customer_id, r.entered_at.isoformat()) for r in chunk)
            yield buffer.getvalue()
            after = chunk[-1].customer_id

    filename = f"{segment.segment_id}.csv"
    return StreamingResponse(rows(), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


async def _existing(session, segment_id: str) -> Segment:  # type: ignore[no-untyped-def]
    segment = await session.get(Segment, segment_id)
    if segment is None:
        raise Problem(404, f"segment {segment_id} not found")
    return segment  # type: ignore[no-any-return]


async def _read(session, segment: Segment) -> SegmentRead:  # type: ignore[no-untyped-def]
    members = await session.scalar(select(func.count()).select_from(members_at(segment.segment_id, None).subquery()))
    return SegmentRead(segment_id=segment.segment_id, name=segment.name, description=segment.description,
                       kind=segment.kind, definition=segment.definition, members=members or 0,  # type: ignore[arg-type]
                       created_at=segment.created_at, computed_at=segment.computed_at)


def _moment(at: datetime | None) -> datetime | None:
    if at is not None and at.tzinfo is None:
        raise Problem(422, "query.at: give a UTC offset, e.g. 2026-03-01T00:00:00Z",
                      errors=[{"field": "query.at", "message": "timestamp without a UTC offset"}])
    return at


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    """A refused segment becomes a problem naming the field: 409 for a taken name, else 422."""
    try:
        yield
    except SegmentRefused as exc:
        raise Problem(409 if exc.field == "name" else 422, f"body.{exc.field}: {exc}",
                      errors=[{"field": f"body.{exc.field}", "message": str(exc)}]) from exc
