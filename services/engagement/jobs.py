"""Engagement's background jobs: a dispatcher on every replica, campaign runs on one replica per period,
and the journey jobs of `journey_jobs`."""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from fastapi import FastAPI

from services.engagement.campaigns import run_due_campaigns
from services.engagement.channels import build_channels, close_channels
from services.engagement.dispatch import Dispatcher
from services.engagement.journey_jobs import JOURNEY_JOBS
from services.engagement.loyalty import expire_points
from shared.db import utcnow
from shared.scheduler import periodic

log = logging.getLogger(__name__)


async def run_dispatcher(app: FastAPI) -> None:
    """Lease and deliver due messages until the app stops; woken early when a message is queued."""
    state = app.state
    settings = state.settings
    channels = build_channels(settings)
    dispatcher = Dispatcher(state.unit_of_work, settings, state.profile, channels)
    state.dispatcher = dispatcher
    interval = settings.dispatch_interval_ms / 1000
    try:
        while True:
            try:
                await dispatcher.drain()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatcher pass failed; retrying")
            try:
                await asyncio.wait_for(state.dispatch_wake.wait(), interval)
            except asyncio.TimeoutError:
                pass
            state.dispatch_wake.clear()
    finally:
        await close_channels(channels)
        await state.profile.close()


async def _run_due_campaigns(app: FastAPI) -> None:
    async with app.state.unit_of_work() as uow:
        started = await run_due_campaigns(uow, utcnow())
        await uow.commit()
    if started:
        log.info("campaign runs started", extra={"count": started})
        app.state.dispatch_wake.set()


async def run_campaign_scheduler(app: FastAPI) -> None:
    """Start due campaign runs, on one replica per period."""
    every = timedelta(seconds=app.state.settings.campaign_interval_seconds)
    await periodic("engagement-campaigns", every, _run_due_campaigns)(app)


async def _expire_points(app: FastAPI) -> None:
    days = app.state.settings.points_expiry_days
    if not days:
        return
    now = utcnow()
    async with app.state.unit_of_work() as uow:
        expired = await expire_points(uow, now - timedelta(days=days), now)
        await uow.commit()
    if expired:
        log.info("loyalty points expired", extra={"customers": expired})


async def run_points_expiry(app: FastAPI) -> None:
    """Expire old points once a day, on one replica."""
    await periodic("engagement-points-expiry", timedelta(days=1), _expire_points, check_interval=600)(app)


BACKGROUND_JOBS = (run_dispatcher, run_campaign_scheduler, run_points_expiry, *JOURNEY_JOBS)
