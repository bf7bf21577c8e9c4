"""PostgreSQL paths for scoring many customers: facts and stored scores read as one row of arrays, and
changed scores written back set-based (arrays through unnest for a few, binary COPY into a temporary
table for many), so no Python object is built per customer on the way."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any, Sequence

import numpy as np
from sqlalchemy import text
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
_LOAD_PART = _LOAD.format(complaints="AND (hashtext(customer_id) & 2147483647) % $1 = $2",
                          customers="WHERE (hashtext(a.customer_id) & 2147483647) % $1 = $2")
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
# Numbers are copied as they are computed (NaN, a score of 0 for none) and become NULL on the way out of the
# staging table; the model version and the time are the same for every row, so they are parameters.
_COPIED = tuple(column for column in _COLUMNS if column not in ("model_version", "scored_at"))
_STAGING = (f"CREATE TEMPORARY TABLE IF NOT EXISTS scores_in ON COMMIT DROP AS "
            f"SELECT {', '.join(_COPIED)}, true AS stored FROM customer_scores WITH NO DATA")
_FLOATS = ("p_alive", "expected_purchases_90d", "expected_spend", "clv", "value_percentile", "usual_gap_days")
_FROM_STAGING = {column: f"nullif(i.{column}, 'NaN')" if column in _FLOATS else
                 f"nullif(i.{column}, 0)" if column in ("r", "f", "m") else f"i.{column}" for column in _COPIED}
_FROM_STAGING.update(model_version="$1::varchar", scored_at="$2::timestamptz")
_UPDATE_FROM_STAGING = f"""
UPDATE customer_scores AS s SET {", ".join(f"{c} = {_FROM_STAGING[c]}" for c in _COLUMNS[1:])} FROM scores_in AS i
WHERE s.customer_id = i.customer_id AND i.stored
"""
_INSERT_FROM_STAGING = f"""
INSERT INTO customer_scores ({_NAMES}) SELECT {", ".join(_FROM_STAGING[c] for c in _COLUMNS)} FROM scores_in AS i
WHERE NOT i.stored
ON CONFLICT (customer_id) DO UPDATE SET {_SET.format(source="excluded")}
"""

#: Up to this many changed customers go as arrays in one statement; more go through COPY.
ARRAYS_UP_TO = 20_000


async def _driver(session: AsyncSession) -> Any:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


#: The whole population is read in this many parts at once, each on a connection of its own.
PARTS = 2


async def load_facts_in_bulk(session: AsyncSession, customer_ids: Sequence[str] | None = None) -> Facts:
    """Facts and stored scores of these customers from one query, or of everybody from PARTS queries
    that run side by side and all see the database as this transaction's snapshot shows it."""
    if customer_ids is None:  # (through the session, which opens the transaction the snapshot lives in)
        rows = await _load_everybody(session.bind, await session.scalar(text("SELECT pg_export_snapshot()")))
    else:
        driver = await _driver(session)
        rows = [list((await driver.fetchrow(_LOAD_SOME, sorted(set(customer_ids)))).values())]
    ids = [customer_id for row in rows for customer_id in row[0] or []]
    numbers = [np.concatenate([_from_binary(row[n], _FLOAT8) for row in rows]) for n in range(1, 1 + len(_NUMBERS))]
    tier, stage, risk = ([value for row in rows for value in row[n] or []] for n in range(-4, -1))
    fingerprint = np.concatenate([_from_binary(row[-1], _INT8) for row in rows])
    return facts_from_columns([ids, *numbers, tier, stage, risk, fingerprint])


async def _load_everybody(engine: Any, snapshot: str) -> list[list[Any]]:
    async def part(number: int) -> list[Any]:
        async with engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            async with driver.transaction(isolation="repeatable_read", readonly=True):
                await driver.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                await driver.execute("SET LOCAL work_mem = '256MB'")  # the joins stay in memory
                # The planner takes the part's hash filter to keep a few rows and would look each one
                # up in customer_scores by index; for half the population, one hash join is far cheaper.
                await driver.execute("SET LOCAL enable_nestloop = off")
                return list((await driver.fetchrow(_LOAD_PART, PARTS, number)).values())

    return list(await asyncio.gather(*(part(number) for number in range(PARTS))))


def _from_binary(array: bytes | None, element: np.dtype) -> np.ndarray:
    if array is None:
        return np.empty(0, dtype=element["value"].newbyteorder("="))
    return np.frombuffer(array, dtype=element, offset=_ARRAY_HEADER)["value"].astype(element["value"].newbyteorder("="))


def _nullable(values: np.ndarray) -> list[Any]:
    """NaN as None, whole numbers as int."""
    return np.where(np.isnan(values), None, np.nan_to_num(values).astype(np.int64)).tolist()


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
               *(pick(values).astype(np.int16).tolist() for values in (scores.r, scores.f, scores.m)),
               pick(scores.segment).tolist(),
               *(pick(getattr(scores, name)).astype(np.float64).tolist() for name in _FLOATS),
               pick(scores.tier).tolist(), pick(scores.stage).tolist(), pick(scores.churn_risk).tolist(),
               pick(fingerprint).tolist()]
    stored = (pick(facts.previous_stage) != None).tolist()  # noqa: E711 (elementwise); stage is never NULL
    await driver.execute("SET LOCAL work_mem = '256MB'")  # the join of staged and stored scores stays in memory
    await driver.execute(_STAGING)
    await driver.execute("TRUNCATE scores_in")
    await driver.copy_records_to_table("scores_in", columns=(*_COPIED, "stored"), records=zip(*columns, stored))
    await driver.execute(_UPDATE_FROM_STAGING, model_version, now)
    await driver.execute(_INSERT_FROM_STAGING, model_version, now)


_HISTORY = ("customer_id", "kind", "previous", "current", "reasons", "model_version", "at")
_INSERT_HISTORY = f"""
INSERT INTO score_changes ({", ".join(_HISTORY)})
SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[], $5::json[], $6::varchar[],
                     $7::timestamptz[])
"""


async def append_changes(session: AsyncSession, changes: list[dict[str, Any]]) -> None:
    """Score history rows (reasons as JSON text): a few as arrays in one statement, many through COPY."""
    records = [(c["customer_id"], c["kind"], c["previous"], c["current"], json.dumps(c["reasons"]), c["model_version"],
                c["at"]) for c in changes]
    driver = await _driver(session)
    if len(records) <= ARRAYS_UP_TO:  # COPY would first ask for the table's column types: a round trip more
        await driver.execute(_INSERT_HISTORY, *(list(column) for column in zip(*records)))
        return
    await driver.copy_records_to_table("score_changes", columns=_HISTORY, records=records)
