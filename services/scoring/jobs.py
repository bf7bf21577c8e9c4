"""Scoring's periodic jobs (one replica runs each per period): the full rescore, which is also the
lifecycle sweep, and the scheduled CLV refit."""
from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import FastAPI

from services.scoring.fitting import create_job
from services.scoring.lifetime_value import NotEnoughData
from services.scoring.rescoring import rescore_everybody
from shared.db import utcnow
from shared.scheduler import Job, periodic

log = logging.getLogger(__name__)


async def rescore_all(app: FastAPI) -> None:
    async with app.state.unit_of_work() as uow:
        summary = await rescore_everybody(uow, app.state.scoring_config, utcnow())
        await uow.commit()
    log.info("rescored every customer", extra=summary.__dict__)


async def refit(app: FastAPI) -> None:
    from services.scoring.api_models import start_fit
    settings = app.state.settings
    request = {"as_of": None, "time_unit": "week", "model": settings.refit_model}
    async with app.state.unit_of_work() as uow:
        try:
            job_id, history = await create_job(uow, request, settings.min_fit_customers,
                                               settings.min_fit_repeat_customers, utcnow())
        except NotEnoughData as exc:
            log.info("scheduled CLV refit skipped", extra={"reason": str(exc)})
            return
        await uow.commit()
    await start_fit(app, job_id, request, history)


async def rescore_schedule(app: FastAPI) -> None:
    every = timedelta(seconds=app.state.settings.rescore_every_seconds)
    await periodic("scoring-rescore", every, rescore_all)(app)


async def refit_schedule(app: FastAPI) -> None:
    seconds = app.state.settings.refit_every_seconds
    if seconds:
        await periodic("scoring-clv-refit", timedelta(seconds=seconds), refit)(app)


BACKGROUND_JOBS: tuple[Job, ...] = (rescore_schedule, refit_schedule)
