"""Journeys over HTTP: event-triggered journeys (VIP welcome, win-back, service recovery, ...) and the
customers' way through them."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import StringConstraints
from sqlalchemy import select

from services.engagement.journey_rules import definition_problems
from services.engagement.journeys import InvalidJourney, save_journey
from services.engagement.models import Journey, JourneyInstance
from services.engagement.schemas_journeys import (
    JourneyInstanceRead,
    JourneyRead,
    JourneyWrite,
)
from shared.db import utcnow
from shared.http.auth import require
from shared.http.pagination import Page, PageDep, encode_cursor
from shared.http.problems import Problem
from shared.service import UowDep

router = APIRouter(tags=["journeys"])
JourneyId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,48}$")]


def _read(journey: Journey) -> JourneyRead:
    return JourneyRead.model_validate({**journey.definition, "updated_at": journey.updated_at})


def _invalid(problems: list[tuple[str, str]]) -> Problem:
    detail = "; ".join(f"{field}: {message}" for field, message in problems)
    return Problem(422, f"invalid journey: {detail}", title="Validation failed",
                   errors=[{"field": f"body.{field}", "message": message} for field, message in problems])


@router.put("/journeys/{journey_id}", response_model=JourneyRead, response_model_by_alias=True,
            response_model_exclude_none=True, dependencies=[Depends(require("engagement:write"))])
async def put_journey(journey_id: Annotated[JourneyId, Path()], body: JourneyWrite, uow: UowDep) -> JourneyRead:
    """Create or replace a journey. It starts for events consumed from now on; customers already in it
    carry on from the step they wait before (and leave it when that step was removed)."""
    definition: dict[str, Any] = {"journey_id": journey_id, **body.model_dump(mode="json", by_alias=True)}
    problems = definition_problems(definition)
    if problems:
        raise _invalid(problems)
    async with uow:
        try:
            journey = await save_journey(uow, definition, utcnow())
        except InvalidJourney as exc:
            raise _invalid([(exc.field, exc.detail)]) from None
        await uow.commit()
        return _read(journey)


@router.get("/journeys/{journey_id}", response_model=JourneyRead, response_model_by_alias=True,
            response_model_exclude_none=True, dependencies=[Depends(require("engagement:read"))])
async def get_journey(journey_id: Annotated[str, Path(max_length=48)], uow: UowDep) -> JourneyRead:
    """A journey's trigger, steps and exit events."""
    async with uow:
        journey = await uow.session.get(Journey, journey_id)
        if journey is None:
            raise Problem(404, f"journey {journey_id!r} does not exist")
        return _read(journey)


@router.get("/journeys", response_model=list[JourneyRead], response_model_by_alias=True,
            response_model_exclude_none=True, dependencies=[Depends(require("engagement:read"))])
async def list_journeys(uow: UowDep) -> list[JourneyRead]:
    """Every journey, in id order."""
    async with uow:
        return [_read(j) for j in (await uow.session.scalars(select(Journey).order_by(Journey.journey_id))).all()]


@router.get("/journey-instances", response_model=Page[JourneyInstanceRead],
            dependencies=[Depends(require("engagement:read"))])
async def list_journey_instances(page: PageDep, uow: UowDep,
                                 customer_id: Annotated[str | None, Query(max_length=64)] = None,
                                 journey_id: Annotated[str | None, Query(max_length=48)] = None,
                                 status: Annotated[Literal["active", "completed", "exited"] | None, Query()] = None,
                                 ) -> Page[JourneyInstanceRead]:
    """Customers' journeys in id order, with the step each waits before and the steps taken."""
    query = select(JourneyInstance).order_by(JourneyInstance.instance_id).limit(page.limit + 1)
    for column, value in ((JourneyInstance.customer_id, customer_id), (JourneyInstance.journey_id, journey_id),
                          (JourneyInstance.status, status)):
        if value is not None:
            query = query.where(column == value)
    if page.after:
        query = query.where(JourneyInstance.instance_id > str(page.after[0]))
    async with uow:
        rows = list((await uow.session.scalars(query)).all())
    more, rows = len(rows) > page.limit, rows[:page.limit]
    return Page(items=[JourneyInstanceRead.model_validate(i) for i in rows],
                next_cursor=encode_cursor([rows[-1].instance_id]) if more else None)
