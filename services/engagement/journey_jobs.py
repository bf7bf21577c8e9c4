"""Journey background jobs: every replica advances due journey instances (rows are leased, so replicas
share the work); one replica per hour starts the birthday and holiday journeys of the day."""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from fastapi import FastAPI

from services.engagement.contacts import load_policy
from services.engagement.journeys import advance_due_journeys, start_calendar_journeys
from shared.db import utcnow
from shared.scheduler import periodic

log = logging.getLogger(__name__)


async def advance_journeys_once(app: FastAPI) -> int:
    """One batch of due instances; returns how many were advanced."""
    settings = app.state.settings
    async with app.state.unit_of_work() as uow:
        report = await advance_due_journeys(uow, utcnow(), settings.journey_batch_size)
        await uow.commit()
    if report.queued:
        app.state.dispatch_wake.set()
    return report.instances


async def run_journey_advancer(app: FastAPI) -> None:
    """Advance due journey instances until the app stops; full batches are followed at once."""
    settings = app.state.settings
    while True:
        try:
            advanced = await advance_journeys_once(app)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("advancing journeys failed; retrying")
            advanced = 0
        if advanced < settings.journey_batch_size:
            await asyncio.sleep(settings.journey_interval_seconds)


async def _start_calendar_days(app: FastAPI) -> None:
    async with app.state.unit_of_work() as uow:
        policy = await load_policy(uow)
        started = await start_calendar_journeys(uow, utcnow(), policy.default_timezone)
        await uow.commit()
    if started:
        log.info("birthday and holiday journeys started", extra={"count": started})


async def run_calendar_journeys(app: FastAPI) -> None:
    """Hourly, on one replica: birthdays and holidays come at midnight in each time zone in turn."""
    await periodic("engagement-birthdays", timedelta(hours=1), _start_calendar_days, check_interval=300)(app)


JOURNEY_JOBS = (run_journey_advancer, run_calendar_journeys)
