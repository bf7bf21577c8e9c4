"""PostgreSQL paths for a batch of purchase and refund events: one statement each to resolve aliases, to
count the new orders (the natural key drops the known ones) and to rebuild the touched customers'
aggregates from their orders and refunds, whatever order the events came in."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

_ALIASES = """
SELECT merged_customer_id, surviving_customer_id FROM customer_aliases WHERE merged_customer_id = ANY($1::varchar[])
"""

_COUNT_NEW = """
INSERT INTO counted_orders (source, order_id, customer_id, amount, occurred_at, day)
SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::numeric[], $5::timestamptz[], $6::int4[])
ON CONFLICT (source, order_id) DO NOTHING
RETURNING customer_id
"""

# An order refunded in full no longer counts as a purchase; a refund never counts for more than its order.
# Each touched customer's orders (and each order's refunds) are looked up by index, one customer at a time:
# the planner cannot see how many customers the array holds (it guesses 10), and joining the touched list
# twice, as a set, led it to a nested loop over both, 4M steps for a batch of 2,000 (0.96 s, against 0.03 s).
REBUILD_AGGREGATES = """
WITH touched AS (SELECT DISTINCT unnest($1::varchar[]) AS customer_id)
INSERT INTO customer_aggregates (customer_id, purchase_count, purchase_days, total_spend, refunded,
                                 first_purchase_at, last_purchase_at, first_purchase_day, last_purchase_day,
                                 updated_at)
SELECT t.customer_id, a.*, $2
FROM touched t CROSS JOIN LATERAL (
    SELECT count(o.day) FILTER (WHERE o.kept), count(DISTINCT o.day) FILTER (WHERE o.kept),
           coalesce(sum(o.net) FILTER (WHERE o.kept), 0), coalesce(sum(o.refunded), 0),
           min(o.occurred_at) FILTER (WHERE o.kept), max(o.occurred_at) FILTER (WHERE o.kept),
           min(o.day) FILTER (WHERE o.kept), max(o.day) FILTER (WHERE o.kept)
    FROM (SELECT o.day, o.occurred_at, o.amount - coalesce(r.amount, 0) AS net,
                 least(coalesce(r.amount, 0), o.amount) AS refunded, (r.amount IS NULL OR r.amount < o.amount) AS kept
          FROM counted_orders o
          LEFT JOIN LATERAL (SELECT sum(r.amount) AS amount FROM refunds r
                             WHERE r.source = o.source AND r.order_id = o.order_id AND r.customer_id = t.customer_id) r
                 ON true
          WHERE o.customer_id = t.customer_id) o) a
ON CONFLICT (customer_id) DO UPDATE SET
    purchase_count = excluded.purchase_count, purchase_days = excluded.purchase_days,
    total_spend = excluded.total_spend, refunded = excluded.refunded,
    first_purchase_at = excluded.first_purchase_at, last_purchase_at = excluded.last_purchase_at,
    first_purchase_day = excluded.first_purchase_day, last_purchase_day = excluded.last_purchase_day,
    updated_at = excluded.updated_at
"""


async def _driver(session: AsyncSession) -> Any:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def resolve_aliases_at_once(session: AsyncSession, customer_ids: Iterable[str]) -> dict[str, str]:
    rows = await (await _driver(session)).fetch(_ALIASES, sorted(set(customer_ids)))
    return {merged: surviving for merged, surviving in rows}


async def count_new_orders(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[str]:
    """Insert the orders not counted yet; returns the customer of each new one."""
    columns = [[row[name] for row in rows] for name in ("source", "order_id", "customer_id", "amount",
                                                         "occurred_at", "day")]
    return [record[0] for record in await (await _driver(session)).fetch(_COUNT_NEW, *columns)]


async def rebuild_aggregates(session: AsyncSession, customer_ids: Sequence[str], now: datetime) -> None:
    """The purchase columns of these customers' aggregates, from all their orders and refunds."""
    await (await _driver(session)).execute(REBUILD_AGGREGATES, list(customer_ids), now)
