"""Feedback's periodic jobs, each run by one replica per period: send due invitations, flag SLA breaches."""
from __future__ import annotations

import asyncio
import gc
import logging
from datetime import timedelta

from fastapi import FastAPI

from services.feedback import text
from services.feedback.handlers import sweep_sla_breaches
from services.feedback.handlers_invitations import send_due_invitations
from services.feedback.handlers_rollup import roll_up
from shared.db import utcnow
from shared.scheduler import Job, periodic

log = logging.getLogger(__name__)


async def _send_due_invitations(app: FastAPI) -> None:
    async with app.state.unit_of_work() as uow:
        sent = await send_due_invitations(uow, app.state.settings, now=utcnow())
        await uow.commit()
    if sent:
        log.info("scheduled invitations handled", extra={"count": sent})


async def _sweep_sla(app: FastAPI) -> None:
    async with app.state.unit_of_work() as uow:
        flagged = await sweep_sla_breaches(uow, now=utcnow())
        await uow.commit()
    if flagged:
        log.warning("cases past their SLA", extra={"count": flagged})


async def _roll_up(app: FastAPI) -> None:
    """Count new responses into their days until none are left."""
    while True:
        async with app.state.unit_of_work() as uow:
            counted = await roll_up(uow)
            await uow.commit()
        if counted < 20_000:
            return


def _every(name: str, job: Job) -> Job:
    """`periodic`, with the period read from the settings the app was built with."""
    async def run(app: FastAPI) -> None:
        every = timedelta(seconds=app.state.settings.scheduler_interval_seconds)
        await periodic(name, every, job)(app)

    run.__name__ = f"periodic-{name}"
    return run


async def warm_up_text_models(app: FastAPI) -> None:
    """Load the sentiment models in a thread at start-up, not in the first request that needs them."""
    try:
        await asyncio.to_thread(text.warm_up)
    except Exception:
        log.exception("text models failed to load; comments will load them on demand")
        return
    # The dictionaries and models are hundreds of thousands of objects that live as long as the process:
    # move them out of the collector's reach, or every full collection walks them all again.
    gc.freeze()


BACKGROUND_JOBS = (
    _every("feedback-send-due-invitations", _send_due_invitations),
    _every("feedback-sla-sweep", _sweep_sla),
    _every("feedback-roll-up-responses", _roll_up),
    warm_up_text_models,
)
