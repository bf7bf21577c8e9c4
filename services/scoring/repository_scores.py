"""Queries for scores, their history, the RFM cut points and the CLV models."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.lifetime_value import FittedModel
from services.scoring.models import ClvModelRow, CustomerScore, RfmCutPointsRow, ScoreChange
from services.scoring.repository import chunks, upsert
from services.scoring.repository_bulk import append_changes, write_changed_scores
from services.scoring.rfm import CutPoints
from services.scoring.scorer import Facts, Scores, fingerprints

_SCORE_COLUMNS = ("recency_days", "r", "f", "m", "segment", "p_alive", "expected_purchases_90d", "expected_spend",
                  "clv", "value_percentile", "usual_gap_days", "tier", "stage", "churn_risk")


def _column(values: np.ndarray, kind: str) -> list[Any]:
    if kind == "float":
        return np.where(np.isnan(values.astype(float)), None, values).tolist()
    if kind == "score":
        return np.where(values > 0, values, None).tolist()
    if kind == "int":
        return np.where(np.isnan(values.astype(float)), None, np.nan_to_num(values).astype(np.int64)).tolist()
    return values.tolist()


_KINDS = {"recency_days": "int", "r": "score", "f": "score", "m": "score", "p_alive": "float",
          "expected_purchases_90d": "float", "expected_spend": "float", "clv": "float", "value_percentile": "float",
          "usual_gap_days": "float"}


async def write_scores(session: AsyncSession, facts: Facts, scores: Scores, now: datetime,
                       model_version: str | None) -> int:
    """Write the scores that differ from the stored ones (by fingerprint; all of them when none was
    read) and leave the others alone; returns how many were written."""
    fingerprint = fingerprints(scores, model_version)
    stored = facts.stored_fingerprint
    rows = np.flatnonzero(fingerprint != stored) if stored is not None else np.arange(len(facts))
    if session.bind.dialect.name == "postgresql":
        await write_changed_scores(session, facts, scores, fingerprint, rows, now, model_version)
        return len(rows)
    columns = {name: _column(getattr(scores, name)[rows], _KINDS.get(name, "object")) for name in _SCORE_COLUMNS}
    ids = facts.customer_id[rows].tolist()
    values = [dict(zip(columns, row), customer_id=customer_id, model_version=model_version, scored_at=now,
                   fingerprint=digest) for customer_id, digest, *row in zip(ids, fingerprint[rows].tolist(),
                                                                            *columns.values())]
    statement = upsert(session, CustomerScore.__table__, ["customer_id"], (*_SCORE_COLUMNS, "model_version",
                                                                            "scored_at", "fingerprint"))
    for part in chunks(values, 5000):
        await session.execute(statement, list(part))
    return len(rows)


async def record_changes(session: AsyncSession, changes: list[dict[str, Any]]) -> None:
    """Append these rows to the score history (in one statement on PostgreSQL)."""
    if not changes:
        return
    if session.bind.dialect.name == "postgresql":
        await append_changes(session, changes)
        return
    for part in chunks(changes, 5000):
        await session.execute(insert(ScoreChange), list(part))


async def load_cut_points(session: AsyncSession) -> CutPoints | None:
    row = await session.get(RfmCutPointsRow, "current")
    if row is None:
        return None
    return CutPoints(bins=row.bins, recency=tuple(row.recency), frequency=tuple(row.frequency),
                     monetary=tuple(row.monetary), spend=tuple(row.spend),
                     clv=tuple(row.clv) if row.clv is not None else None, customers=row.customers)


async def store_cut_points(session: AsyncSession, cuts: CutPoints, now: datetime) -> None:
    values = {"name": "current", "bins": cuts.bins, "recency": list(cuts.recency), "frequency": list(cuts.frequency),
              "monetary": list(cuts.monetary), "spend": list(cuts.spend),
              "clv": list(cuts.clv) if cuts.clv is not None else None, "customers": cuts.customers,
              "computed_at": now}
    await session.execute(upsert(session, RfmCutPointsRow.__table__, ["name"], [k for k in values if k != "name"]),
                          [values])


async def current_model_row(session: AsyncSession) -> ClvModelRow | None:
    rows = await session.execute(select(ClvModelRow).order_by(ClvModelRow.fitted_at.desc()).limit(1))
    return rows.scalar_one_or_none()


def fitted_from_row(row: ClvModelRow) -> FittedModel:
    return FittedModel(row.model, row.time_unit, dict(row.transaction_params), dict(row.spend_params),  # type: ignore[arg-type]
                       row.log_likelihood, row.spend_log_likelihood, row.customers, row.repeat_customers,
                       row.duration_seconds)


async def current_model(session: AsyncSession) -> tuple[FittedModel | None, str | None]:
    row = await current_model_row(session)
    return (fitted_from_row(row), row.version) if row is not None else (None, None)
