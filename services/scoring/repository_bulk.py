"""PostgreSQL paths for scoring many customers: facts and stored scores read as one row of arrays, and
changed scores written back set-based (arrays through unnest for a few, binary COPY into a temporary
table for many), so no Python object is built per customer on the way."""
from __future__ import annotations

import json
from datetime import datetime
from itertools import repeat
from typing import Any, Sequence

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.repository import facts_from_columns
from services.scoring.scorer import NO_FINGERPRINT, Facts, Scores

# Numbers travel as arrays in PostgreSQL's binary array format (array_send; no NULLs: NaN or -1 instead),
# which numpy reads as it is; the few text columns as text arrays.
_NUMBERS = ("a.purchase_days", "a.first_purchase_day", "a.last_purchase_day", "a.total_spend", "a.last_nps",
            "floor(extract(epoch FROM a.last_nps_at) / 86400)", "coalesce(o.open, 0)")
_LOAD = """
SELECT array_agg(a.customer_id), {numbers}, array_agg(s.tier), array_agg(s.stage), array_agg(s.churn_risk),
       array_send(array_agg(coalesce(s.fingerprint, {none})))
FROM customer_aggregates a
LEFT JOIN customer_scores s ON s.customer_id = a.customer_id
LEFT JOIN (SELECT customer_id, count(*) AS open FROM complaints
           WHERE opened_at IS NOT NULL AND resolved_at IS NULL {complaints} GROUP BY customer_id) o
       ON o.customer_id = a.customer_id
{customers}
""".replace("{numbers}", ", ".join(f"array_send(array_agg(coalesce(({n})::float8, 'NaN')))" for n in _NUMBERS)
            ).replace("{none}", str(NO_FINGERPRINT))
_LOAD_EVERYBODY = _LOAD.format(complaints="", customers="")
_LOAD_SOME = _LOAD.format(complaints="AND customer_id = ANY($1::varchar[])",
                          customers="WHERE a.customer_id = ANY($1::varchar[])")
#: Elements of a float8 and of an int8 array in binary form: each its length, then its big-endian value.
_FLOAT8 = np.dtype([("length", ">i4"), ("value", ">f8")])
_INT8 = np.dtype([("length", ">i4"), ("value", ">i8")])
_ARRAY_HEADER = 20  # dimensions, flags, element type, then size and lower bound of the one dimension

_COLUMNS = ("customer_id", "recency_days", "r", "f", "m", "segment", "p_alive", "expected_purchases_90d",
            "expected_spend", "clv", "value_percentile", "usual_gap_days", "tier", "stage", "churn_risk",
            "model_version", "scored_at", "fingerprint")
_SET = ", ".join(f"{column} = {{source}}.{column}" for column in _COLUMNS[1:])
_NAMES = ", ".join(_COLUMNS)

_UPSERT_ARRAYS = f"""
INSERT INTO customer_scores ({_NAMES})
SELECT u.customer_id, u.recency_days, nullif(u.r, 0), nullif(u.f, 0), nullif(u.m, 0), u.segment,
       nullif(u.p_alive, 'NaN'), nullif(u.expected, 'NaN'), nullif(u.spend, 'NaN'), nullif(u.clv, 'NaN'),
       nullif(u.value, 'NaN'), nullif(u.gap, 'NaN'), u.tier, u.stage, u.risk, $17, $18, u.fingerprint
FROM unnest($1::varchar[], $2::int4[], $3::int2[], $4::int2[], $5::int2[], $6::varchar[], $7::float8[],
            $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::varchar[],
            $14::varchar[], $15::varchar[], $16::int8[])
     AS u(customer_id, recency_days, r, f, m, segment, p_alive, expected, spend, clv, value, gap, tier, stage, risk,
          fingerprint)
ON CONFLICT (customer_id) DO UPDATE SET {_SET.format(source="excluded")}
"""

# `stored` says whether the customer had a row when the facts were read: those rows are updated through a
# join, the others inserted (a row that appeared meanwhile is updated instead, one erased meanwhile stays away).
_STAGING = "CREATE TEMPORARY TABLE IF NOT EXISTS scores_in (LIKE customer_scores, stored boolean) ON COMMIT DROP"
_UPDATE_FROM_STAGING = f"""
UPDATE customer_scores AS s SET {_SET.format(source="i")} FROM scores_in AS i
WHERE s.customer_id = i.customer_id AND i.stored
"""
_INSERT_FROM_STAGING = f"""
INSERT INTO customer_scores ({_NAMES}) SELECT {_NAMES} FROM scores_in WHERE NOT stored
ON CONFLICT (customer_id) DO UPDATE SET {_SET.format(source="excluded")}
"""

#: Up to this many changed customers go as arrays in one statement; more go through COPY.
ARRAYS_UP_TO = 20_000


async def _driver(session: AsyncSession) -> Any:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def load_facts_in_bulk(session: AsyncSession, customer_ids: Sequence[str] | None = None) -> Facts:
    """Facts and stored scores of these customers (or of everybody) from one query."""
    driver = await _driver(session)
    if customer_ids is None:
        await driver.execute("SET LOCAL work_mem = '256MB'")  # the joins of a whole population stay in memory
        row = list((await driver.fetchrow(_LOAD_EVERYBODY)).values())
    else:
        row = list((await driver.fetchrow(_LOAD_SOME, sorted(set(customer_ids)))).values())
    numbers = [_from_binary(value, _FLOAT8) for value in row[1:1 + len(_NUMBERS)]]
    tier, stage, risk = (value or [] for value in row[1 + len(_NUMBERS):-1])
    return facts_from_columns([row[0] or [], *numbers, tier, stage, risk, _from_binary(row[-1], _INT8)])


def _from_binary(array: bytes | None, element: np.dtype) -> np.ndarray:
    if array is None:
        return np.empty(0, dtype=element["value"].newbyteorder("="))
    return np.frombuffer(array, dtype=element, offset=_ARRAY_HEADER)["value"].astype(element["value"].newbyteorder("="))


def _nullable(values: np.ndarray) -> list[Any]:
    """NaN as None, whole numbers as int."""
    return np.where(np.isnan(values), None, np.nan_to_num(values).astype(np.int64)).tolist()


def _optional(values: np.ndarray) -> list[Any]:
    return np.where(np.isnan(values), None, values).tolist()


def _rfm(values: np.ndarray) -> list[Any]:
    return np.where(values > 0, values.astype(np.int64), None).tolist()


async def write_changed_scores(session: AsyncSession, facts: Facts, scores: Scores, fingerprint: np.ndarray,
                               rows: np.ndarray, now: datetime, model_version: str | None) -> None:
    """Write the scores (and their fingerprints) of the customers at `rows` (indices into facts and scores)."""
    if len(rows) == 0:
        return
    driver = await _driver(session)
    pick = lambda values: np.asarray(values)[rows]  # noqa: E731
    if len(rows) <= ARRAYS_UP_TO:
        await driver.execute(
            _UPSERT_ARRAYS, pick(facts.customer_id).tolist(), _nullable(pick(scores.recency_days)),
            *(pick(values).astype(np.int16).tolist() for values in (scores.r, scores.f, scores.m)),
            pick(scores.segment).tolist(),
            *(pick(values).tolist() for values in (scores.p_alive, scores.expected_purchases_90d,
                                                   scores.expected_spend, scores.clv, scores.value_percentile,
                                                   scores.usual_gap_days)),
            pick(scores.tier).tolist(), pick(scores.stage).tolist(), pick(scores.churn_risk).tolist(),
            pick(fingerprint).tolist(), model_version, now)
        return
    columns = [pick(facts.customer_id).tolist(), _nullable(pick(scores.recency_days)),
               *(_rfm(pick(values)) for values in (scores.r, scores.f, scores.m)), pick(scores.segment).tolist(),
               *(_optional(pick(values)) for values in (scores.p_alive, scores.expected_purchases_90d,
                                                        scores.expected_spend, scores.clv, scores.value_percentile,
                                                        scores.usual_gap_days)),
               pick(scores.tier).tolist(), pick(scores.stage).tolist(), pick(scores.churn_risk).tolist()]
    stored = (pick(facts.previous_stage) != None).tolist()  # noqa: E711 (elementwise); stage is never NULL
    await driver.execute(_STAGING)
    await driver.execute("TRUNCATE scores_in")
    await driver.copy_records_to_table("scores_in", columns=(*_COLUMNS, "stored"), records=zip(
        *columns, repeat(model_version), repeat(now), pick(fingerprint).tolist(), stored))
    await driver.execute(_UPDATE_FROM_STAGING)
    await driver.execute(_INSERT_FROM_STAGING)


_HISTORY = ("customer_id", "kind", "previous", "current", "reasons", "model_version", "at")


async def copy_changes(session: AsyncSession, changes: list[dict[str, Any]]) -> None:
    """Score history rows through COPY (reasons as JSON text)."""
    records = ((c["customer_id"], c["kind"], c["previous"], c["current"], json.dumps(c["reasons"]), c["model_version"],
                c["at"]) for c in changes)
    await (await _driver(session)).copy_records_to_table("score_changes", columns=_HISTORY, records=records)
