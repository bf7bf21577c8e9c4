"""PostgreSQL fast paths for the full rescore: the whole population read as one row of arrays and the
scores written back from arrays (unnest), so no Python object is built per customer on the way."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.scorer import Facts, Scores

_LOAD = """
SELECT array_agg(a.customer_id), array_agg(a.purchase_days), array_agg(a.first_purchase_day),
       array_agg(a.last_purchase_day), array_agg(a.total_spend::float8), array_agg(a.last_nps),
       array_agg(floor(extract(epoch FROM a.last_nps_at) / 86400)), array_agg(coalesce(o.open, 0)),
       array_agg(s.tier), array_agg(s.stage), array_agg(s.churn_risk)
FROM customer_aggregates a
LEFT JOIN customer_scores s ON s.customer_id = a.customer_id
LEFT JOIN (SELECT customer_id, count(*) AS open FROM complaints
           WHERE opened_at IS NOT NULL AND resolved_at IS NULL GROUP BY customer_id) o
       ON o.customer_id = a.customer_id
"""

_WRITE = """
INSERT INTO customer_scores (customer_id, recency_days, r, f, m, segment, p_alive, expected_purchases_90d,
    expected_spend, clv, value_percentile, usual_gap_days, tier, stage, churn_risk, model_version, scored_at)
SELECT u.customer_id, nullif(u.recency_days, 'NaN')::int, nullif(u.r, 0), nullif(u.f, 0), nullif(u.m, 0),
       u.segment, nullif(u.p_alive, 'NaN'), nullif(u.expected, 'NaN'), nullif(u.spend, 'NaN'),
       nullif(u.clv, 'NaN'), nullif(u.value, 'NaN'), nullif(u.gap, 'NaN'), u.tier, u.stage, u.risk, $16, $17
FROM unnest($1::varchar[], $2::float8[], $3::int2[], $4::int2[], $5::int2[], $6::varchar[], $7::float8[],
            $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::varchar[],
            $14::varchar[], $15::varchar[])
     AS u(customer_id, recency_days, r, f, m, segment, p_alive, expected, spend, clv, value, gap, tier, stage, risk)
ON CONFLICT (customer_id) DO UPDATE SET
    recency_days = excluded.recency_days, r = excluded.r, f = excluded.f, m = excluded.m,
    segment = excluded.segment, p_alive = excluded.p_alive, expected_purchases_90d = excluded.expected_purchases_90d,
    expected_spend = excluded.expected_spend, clv = excluded.clv, value_percentile = excluded.value_percentile,
    usual_gap_days = excluded.usual_gap_days, tier = excluded.tier, stage = excluded.stage,
    churn_risk = excluded.churn_risk, model_version = excluded.model_version, scored_at = excluded.scored_at
"""


async def _driver(session: AsyncSession) -> Any:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def load_everybody(session: AsyncSession) -> Facts:
    row = await (await _driver(session)).fetchrow(_LOAD)
    columns = [value or [] for value in row.values()]

    def floats(values: list[Any]) -> np.ndarray:
        return np.array(values, dtype=float)

    return Facts(customer_id=np.array(columns[0], dtype=object), purchase_days=np.array(columns[1], dtype=np.int64),
                 first_day=floats(columns[2]), last_day=floats(columns[3]), total_spend=floats(columns[4]),
                 nps=floats(columns[5]), nps_day=floats(columns[6]), open_complaints=np.array(columns[7], dtype=np.int64),
                 previous_tier=np.array(columns[8], dtype=object), previous_stage=np.array(columns[9], dtype=object),
                 previous_risk=np.array(columns[10], dtype=object))


async def write_everybody(session: AsyncSession, facts: Facts, scores: Scores, now: datetime,
                          model_version: str | None, chunk: int = 250_000) -> None:
    driver = await _driver(session)
    columns = [facts.customer_id, scores.recency_days.astype(float), scores.r, scores.f, scores.m, scores.segment,
               scores.p_alive, scores.expected_purchases_90d, scores.expected_spend, scores.clv,
               scores.value_percentile, scores.usual_gap_days, scores.tier, scores.stage, scores.churn_risk]
    for start in range(0, len(facts), chunk):
        part = [np.asarray(column[start:start + chunk]).tolist() for column in columns]
        await driver.execute(_WRITE, *part, model_version, now)
