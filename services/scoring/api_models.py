"""Scoring's HTTP routes for the CLV model lifecycle: fit jobs, the current model, backtests."""
from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import JSONResponse

from services.scoring.clv import ConvergenceError
from services.scoring.fitting import create_job, run_backtest, run_job
from services.scoring.lifetime_value import History, NotEnoughData
from services.scoring.models import ClvFitJob
from services.scoring.repository_scores import current_model_row
from services.scoring.rescoring import rescore_everybody
from services.scoring.schemas import BacktestRead, BacktestRequest, FitJobRead, FitRequest, ModelRead
from shared.db import utcnow
from shared.http.auth import require
from shared.http.idempotency import REPLAYED_HEADER, IdempotencyDep
from shared.http.problems import Problem
from shared.service import UowDep

router = APIRouter(tags=["models"])


@router.post("/models/clv/fit", status_code=202, response_model=FitJobRead,
             dependencies=[Depends(require("scoring:write"))])
async def fit_model(body: FitRequest, uow: UowDep, idempotency: IdempotencyDep, request: Request) -> JSONResponse:
    """Start fitting a CLV model (BG/NBD or Pareto/NBD with Gamma-Gamma) as a job; 422 when the data is too thin."""
    settings = request.app.state.settings
    queued: dict[str, Any] = {}

    async def operation() -> tuple[int, Any]:
        try:
            job_id, history = await create_job(uow, body.model_dump(), settings.min_fit_customers,
                                               settings.min_fit_repeat_customers, utcnow())
        except NotEnoughData as exc:
            raise Problem(422, f"not enough data to fit: {exc}", title="Not enough data") from exc
        queued.update(job_id=job_id, history=history)
        await uow.session.flush()
        job = await uow.session.get(ClvFitJob, job_id)
        return 202, FitJobRead.model_validate(job, from_attributes=True).model_dump(mode="json")

    async with uow:
        response = await idempotency.run(uow, operation)
    if queued and REPLAYED_HEADER not in response.headers:
        start_fit(request.app, queued["job_id"], body.model_dump(), queued["history"])
    response.headers["Location"] = f"/models/clv/jobs/{queued.get('job_id', '')}"
    return response


def start_fit(app: FastAPI, job_id: str, fit_request: dict[str, Any], history: History) -> asyncio.Task[None]:
    """Run the fit beside the event loop; a successful fit rescores everybody with the new model."""
    async def fit_then_rescore() -> None:
        version = await run_job(app.state.unit_of_work, job_id, fit_request, history)
        if version is not None:
            async with app.state.unit_of_work() as uow:
                await rescore_everybody(uow, app.state.scoring_config, utcnow())
                await uow.commit()

    task = asyncio.create_task(fit_then_rescore(), name=f"clv-fit-{job_id}")
    app.state.fit_tasks.add(task)
    task.add_done_callback(app.state.fit_tasks.discard)
    return task


@router.get("/models/clv/jobs/{job_id}", response_model=FitJobRead, dependencies=[Depends(require("scoring:read"))])
async def get_job(job_id: Annotated[str, Path(max_length=32)], uow: UowDep) -> FitJobRead:
    """A fit job's status, and the model version it produced."""
    async with uow:
        job = await uow.session.get(ClvFitJob, job_id)
    if job is None:
        raise Problem(404, f"no fit job {job_id}")
    return FitJobRead.model_validate(job, from_attributes=True)


@router.get("/models/clv", response_model=ModelRead, dependencies=[Depends(require("scoring:read"))],
            responses={404: {"description": "No model fitted yet"}})
async def get_current_model(uow: UowDep) -> ModelRead:
    """The CLV model customers are scored with now."""
    async with uow:
        row = await current_model_row(uow.session)
    if row is None:
        raise Problem(404, "no CLV model fitted yet: POST /models/clv/fit")
    return ModelRead.model_validate(row, from_attributes=True)


@router.post("/models/clv/backtest", response_model=BacktestRead, dependencies=[Depends(require("scoring:read"))])
async def backtest_model(body: BacktestRequest, uow: UowDep, request: Request) -> BacktestRead:
    """Fit on purchases before calibration_end; compare predicted with actual repeat purchase days up to
    holdout_end, overall and per decile of predicted value."""
    settings = request.app.state.settings
    async with uow:
        try:
            result = await run_backtest(uow.session, body.calibration_end, body.holdout_end, body.model,
                                        body.time_unit, settings.min_fit_customers, settings.min_fit_repeat_customers)
        except NotEnoughData as exc:
            raise Problem(422, f"not enough data to backtest: {exc}", title="Not enough data") from exc
        except (ValueError, ConvergenceError) as exc:
            raise Problem(422, f"the model could not be fitted on the calibration period: {exc}",
                          title="Model did not fit") from exc
    return BacktestRead.model_validate(result, from_attributes=True)
