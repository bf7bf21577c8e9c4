"""Use cases of the CLV model lifecycle: check, fit (off the event loop), record, backtest."""
from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
from sqlalchemy import case, distinct, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.backtest import BacktestResult, backtest
from services.scoring.clv import ConvergenceError
from services.scoring.domain import day_number
from services.scoring.lifetime_value import FittedModel, History, NotEnoughData, check_enough, fit
from services.scoring.models import ClvFitJob, ClvModelRow
from services.scoring.repository import net_orders
from shared.db import utcnow
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


def end_day(as_of: date | None, now: datetime) -> int:
    """The observation period ends before `as_of` (default: today, so today's purchases are left out
    until the day is over)."""
    return (as_of - date(1970, 1, 1)).days if as_of is not None else day_number(now)


async def load_history(session: AsyncSession, calibration_end: int,
                       holdout_end: int | None = None) -> tuple[History, np.ndarray]:
    """Per customer who bought before `calibration_end`: purchase days, first and last day and net spend
    before it, and the purchase days in [calibration_end, holdout_end). One query, grouped in SQL."""
    orders = net_orders(before_day=holdout_end if holdout_end is not None else calibration_end)
    kept = orders.c.kept
    calibration = kept & (orders.c.day < calibration_end)
    holdout = kept & (orders.c.day >= calibration_end)
    rows = (await session.execute(select(
        func.count(distinct(case((calibration, orders.c.day)))), func.min(case((calibration, orders.c.day))),
        func.max(case((calibration, orders.c.day))), func.sum(case((calibration, orders.c.net), else_=0)),
        func.count(distinct(case((holdout, orders.c.day)))),
    ).group_by(orders.c.customer_id))).all()
    table = np.array(rows, dtype=float).reshape(-1, 5)
    table = table[table[:, 0] > 0]
    history = History(table[:, 0].astype(np.int64), table[:, 1], table[:, 2], table[:, 3])
    return history, table[:, 4]


async def create_job(uow: UnitOfWork, request: dict[str, Any], min_customers: int, min_repeat: int,
                     now: datetime) -> tuple[str, History]:
    """Check there is enough data (NotEnoughData otherwise) and queue a job; returns its id and the data."""
    history, _ = await load_history(uow.session, end_day(request.get("as_of"), now))
    check_enough(history, min_customers, min_repeat)
    job_id = uuid.uuid4().hex
    uow.session.add(ClvFitJob(job_id=job_id, status="queued", request=_jsonable(request), created_at=now))
    return job_id, history


def _jsonable(request: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in request.items()}


async def run_job(unit_of_work: Any, job_id: str, request: dict[str, Any], history: History) -> str | None:
    """Fit in a worker thread, then record the model (or the failure) on the job; returns the version."""
    await _set_job(unit_of_work, job_id, status="running")
    as_of = end_day(request.get("as_of"), utcnow())
    try:
        fitted = await asyncio.to_thread(fit, history, as_of, request["model"], request["time_unit"])
    except (ValueError, ConvergenceError, ArithmeticError) as exc:
        log.warning("CLV fit failed", extra={"job": job_id, "error": str(exc)})
        await _set_job(unit_of_work, job_id, status="failed", error=str(exc)[:2000], finished_at=utcnow())
        return None
    version = await record_model(unit_of_work, fitted, as_of)
    await _set_job(unit_of_work, job_id, status="succeeded", model_version=version, finished_at=utcnow())
    return version


async def record_model(unit_of_work: Any, fitted: FittedModel, as_of_day: int) -> str:
    now = utcnow()
    version = f"{fitted.model}-{fitted.time_unit}-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:4]}"
    as_of = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(days=as_of_day)
    async with unit_of_work() as uow:
        uow.session.add(ClvModelRow(version=version, **asdict(fitted), as_of=as_of, fitted_at=now))
        await uow.commit()
    return version


async def _set_job(unit_of_work: Any, job_id: str, **values: Any) -> None:
    async with unit_of_work() as uow:
        await uow.session.execute(update(ClvFitJob).where(ClvFitJob.job_id == job_id).values(**values))
        await uow.commit()


async def run_backtest(session: AsyncSession, calibration_end: date, holdout_end: date, model: str, unit: str,
                       min_customers: int, min_repeat: int) -> BacktestResult:
    """Fit on the calibration period and compare predicted with actual repeat purchases in the holdout."""
    start, stop = end_day(calibration_end, utcnow()), end_day(holdout_end, utcnow())
    if stop <= start:
        raise NotEnoughData("holdout_end must be after calibration_end")
    history, actual = await load_history(session, start, stop)
    check_enough(history, min_customers, min_repeat)
    fitted = await asyncio.to_thread(fit, history, start, model, unit)  # type: ignore[arg-type]
    return await asyncio.to_thread(backtest, fitted, history, actual, start, stop)
