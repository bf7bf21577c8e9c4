"""Campaigns over HTTP: create, read, dry-run, stats, cancel."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy import select, update

from services.engagement.campaigns import CANCELLED, DONE, campaign_stats, create_campaign, dry_run
from services.engagement.messages import QUEUED, SUPPRESSED
from services.engagement.models import Campaign, Message
from services.engagement.schemas_campaigns import CampaignCreate, CampaignRead, CampaignStats, DryRunRead
from shared.db import utcnow
from shared.http.auth import require
from shared.http.idempotency import IdempotencyDep
from shared.http.pagination import Page, PageDep, encode_cursor
from shared.http.problems import Problem
from shared.service import UowDep

router = APIRouter(tags=["campaigns"])
CampaignIdPath = Annotated[str, Path(max_length=48)]


def _read(campaign: Campaign) -> CampaignRead:
    return CampaignRead(**campaign.definition, status=campaign.status, next_run_at=campaign.next_run_at,
                        runs=campaign.runs, created_at=campaign.created_at)


async def _campaign(uow, campaign_id: str) -> Campaign:  # type: ignore[no-untyped-def]
    campaign = await uow.session.get(Campaign, campaign_id, populate_existing=True)
    if campaign is None:
        raise Problem(404, f"campaign {campaign_id!r} does not exist")
    return campaign  # type: ignore[no-any-return]


@router.post("/campaigns", status_code=201, response_model=CampaignRead,
             dependencies=[Depends(require("engagement:write"))])
async def post_campaign(body: CampaignCreate, request: Request, uow: UowDep, idempotency: IdempotencyDep):
    """Create a campaign; it runs at its schedule (`now` within the scheduler's next pass)."""
    async def operation() -> tuple[int, object]:
        campaign = await create_campaign(uow, body.model_dump(mode="json"), utcnow())
        if campaign is None:
            raise Problem(409, f"campaign {body.campaign_id!r} already exists")
        return 201, _read(campaign)

    async with uow:
        return await idempotency.run(uow, operation)


@router.get("/campaigns", response_model=Page[CampaignRead], dependencies=[Depends(require("engagement:read"))])
async def list_campaigns(page: PageDep, uow: UowDep) -> Page[CampaignRead]:
    """Campaigns in id order."""
    query = select(Campaign).order_by(Campaign.campaign_id).limit(page.limit + 1)
    if page.after:
        query = query.where(Campaign.campaign_id > str(page.after[0]))
    async with uow:
        rows = list((await uow.session.scalars(query)).all())
    more = len(rows) > page.limit
    rows = rows[:page.limit]
    return Page(items=[_read(c) for c in rows], next_cursor=encode_cursor([rows[-1].campaign_id]) if more else None)


@router.get("/campaigns/{campaign_id}", response_model=CampaignRead, dependencies=[Depends(require("engagement:read"))])
async def get_campaign(campaign_id: CampaignIdPath, uow: UowDep) -> CampaignRead:
    """A campaign's definition, status and next run."""
    async with uow:
        return _read(await _campaign(uow, campaign_id))


@router.post("/campaigns/{campaign_id}/dry-run", response_model=DryRunRead,
             dependencies=[Depends(require("engagement:read"))])
async def post_dry_run(campaign_id: CampaignIdPath, uow: UowDep) -> DryRunRead:
    """Who the campaign would contact now, who it would defer or suppress and why, who is held out. Sends nothing."""
    async with uow:
        outcome = await dry_run(uow, await _campaign(uow, campaign_id), utcnow())
    return DryRunRead(campaign_id=campaign_id, would_contact=outcome["would_contact"],
                      would_defer=outcome["would_defer"], suppressed=outcome["suppressed"], holdout=outcome["holdout"])


@router.get("/campaigns/{campaign_id}/stats", response_model=CampaignStats,
            dependencies=[Depends(require("engagement:read"))])
async def get_stats(campaign_id: CampaignIdPath, uow: UowDep) -> CampaignStats:
    """Per variant: members, messages by status, deliveries, opens and clicks; holdout size; suppression reasons."""
    async with uow:
        return CampaignStats(**await campaign_stats(uow, await _campaign(uow, campaign_id)))


@router.post("/campaigns/{campaign_id}/cancel", response_model=CampaignRead,
             dependencies=[Depends(require("engagement:write"))])
async def cancel_campaign(campaign_id: CampaignIdPath, uow: UowDep) -> CampaignRead:
    """Stop future runs and drop the campaign's messages still waiting in the queue."""
    async with uow:
        campaign = await _campaign(uow, campaign_id)
        if campaign.status != DONE:
            campaign.status, campaign.next_run_at = CANCELLED, None
        await uow.session.execute(update(Message).where(Message.campaign_id == campaign_id, Message.status == QUEUED)
                                  .values(status=SUPPRESSED, reason="campaign_cancelled"))
        await uow.commit()
        return _read(campaign)
