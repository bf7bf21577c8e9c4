"""Journeys over HTTP: event-triggered messages such as the VIP welcome or the win-back."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import select

from services.engagement.journeys import save_journey
from services.engagement.models import Journey
from services.engagement.schemas import TemplateText
from shared.db import utcnow
from shared.events.fields import ExternalId
from shared.events.vocabulary import Channel
from shared.http.auth import require
from shared.http.problems import Problem
from shared.service import UowDep

router = APIRouter(tags=["journeys"])
JourneyId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,48}$")]


class JourneyTrigger(BaseModel):
    """E.g. `{"event": "tier-changed", "to": "high-value"}`, `{"event": "lifecycle-stage-changed", "to": "at-risk"}`
    or `{"event": "birthday"}` (on the customer's local birthday, once a year)."""

    model_config = ConfigDict(extra="forbid")

    event: Literal["tier-changed", "lifecycle-stage-changed", "churn-risk-changed", "birthday"]
    to: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    from_: list[str] | None = Field(default=None, alias="from", max_length=10)
    """Only when coming from one of these values."""

    @model_validator(mode="after")
    def _to_for_changes(self) -> JourneyTrigger:
        if (self.event == "birthday") != (self.to is None):
            raise ValueError("`to` is required for standing changes and not allowed for birthday")
        return self


class JourneyWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    trigger: JourneyTrigger
    channel: Channel | Literal["preferred"] = "preferred"
    priority: Literal["transactional", "service", "win_back", "promotion"] = "promotion"
    template_id: ExternalId | None = None
    subject: TemplateText | None = None
    body: TemplateText | None = None
    delay_hours: int = Field(default=0, ge=0, le=24 * 90)
    enabled: bool = True

    @model_validator(mode="after")
    def _template_or_body(self) -> JourneyWrite:
        if (self.template_id is None) == (self.body is None):
            raise ValueError("give exactly one of template_id and body")
        return self


class JourneyRead(JourneyWrite):
    journey_id: str
    updated_at: datetime


def _read(journey: Journey) -> JourneyRead:
    return JourneyRead.model_validate({**journey.definition, "updated_at": journey.updated_at})


@router.put("/journeys/{journey_id}", response_model=JourneyRead, response_model_by_alias=True,
            dependencies=[Depends(require("engagement:write"))])
async def put_journey(journey_id: Annotated[JourneyId, Path()], body: JourneyWrite, uow: UowDep) -> JourneyRead:
    """Create or replace a journey; it applies to standing changes consumed from now on."""
    definition: dict[str, Any] = {"journey_id": journey_id, **body.model_dump(mode="json", by_alias=True)}
    async with uow:
        journey = await save_journey(uow, definition, utcnow())
        await uow.commit()
        return _read(journey)


@router.get("/journeys/{journey_id}", response_model=JourneyRead, response_model_by_alias=True,
            dependencies=[Depends(require("engagement:read"))])
async def get_journey(journey_id: Annotated[str, Path(max_length=48)], uow: UowDep) -> JourneyRead:
    """A journey's trigger and message."""
    async with uow:
        journey = await uow.session.get(Journey, journey_id)
        if journey is None:
            raise Problem(404, f"journey {journey_id!r} does not exist")
        return _read(journey)


@router.get("/journeys", response_model=list[JourneyRead], response_model_by_alias=True,
            dependencies=[Depends(require("engagement:read"))])
async def list_journeys(uow: UowDep) -> list[JourneyRead]:
    """Every journey, in id order."""
    async with uow:
        return [_read(j) for j in (await uow.session.scalars(select(Journey).order_by(Journey.journey_id))).all()]
