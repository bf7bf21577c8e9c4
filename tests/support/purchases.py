"""Streams of purchases for the fault tests: made up deterministically, published fast, and what they must
add up to, computed from the orders themselves and compared with what scoring and profile hold."""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Iterable

from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from services.scoring.models import CustomerAggregate
from shared.db import create_engine
from shared.events.catalogue import PurchaseRecordedV1
from shared.events.envelope import encode, new_event

SOURCE = "fault-shop"


@dataclass(frozen=True)
class Order:
    customer_id: str
    order_id: str
    amount: Decimal
    occurred_at: datetime

    def event(self) -> PurchaseRecordedV1:
        return PurchaseRecordedV1(order_id=self.order_id, customer_id=self.customer_id, total_amount=self.amount,
                                  currency="USD", occurred_at=self.occurred_at)

    def http_body(self) -> dict[str, object]:
        return {"source": SOURCE, "order_id": self.order_id, "customer_id": self.customer_id,
                "occurred_at": self.occurred_at.isoformat(), "total_amount": str(self.amount), "currency": "USD"}


def orders(count: int, *, customers: int, seed: int, prefix: str) -> list[Order]:
    """`count` orders spread over `customers` customers, with amounts in cents and dates in the last year."""
    rng = random.Random(seed)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return [Order(customer_id=f"{prefix}-c{rng.randrange(customers)}", order_id=f"{prefix}-o{n}",
                  amount=Decimal(rng.randrange(100, 50_000)) / 100,
                  occurred_at=now - timedelta(minutes=rng.randrange(1, 365 * 24 * 60)))
            for n in range(count)]


@dataclass(frozen=True)
class Totals:
    purchase_count: int
    total_spend: Decimal


def expected_totals(delivered: Iterable[Order]) -> dict[str, Totals]:
    """Per customer: each distinct order once, whatever number of times it was delivered."""
    distinct = {order.order_id: order for order in delivered}
    counts: dict[str, int] = defaultdict(int)
    spend: dict[str, Decimal] = defaultdict(Decimal)
    for order in distinct.values():
        counts[order.customer_id] += 1
        spend[order.customer_id] += order.amount
    return {customer: Totals(counts[customer], spend[customer]) for customer in counts}


async def scoring_totals(database_url: str) -> dict[str, Totals]:
    """What scoring's database holds per customer (read as an auditor would, beside the service)."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(select(CustomerAggregate.customer_id, CustomerAggregate.purchase_count,
                                                   CustomerAggregate.total_spend))
            return {row.customer_id: Totals(row.purchase_count, Decimal(row.total_spend)) for row in rows
                    if row.purchase_count}
    finally:
        await engine.dispose()


async def publish_orders(bootstrap: str, batch: Iterable[Order], *, source: str = SOURCE) -> int:
    """Publish as an external shop would, through one batching producer; returns how many were sent."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=256 * 1024)
    await producer.start()
    sent = []
    try:
        for order in batch:
            envelope = new_event(order.event(), source=source)
            sent.append(await producer.send(envelope.type, value=encode(envelope), key=order.customer_id.encode()))
        for delivery in sent:
            await delivery
    finally:
        await producer.stop()
    return len(sent)


def as_record(order: Order, *, source: str = SOURCE) -> tuple[str, bytes]:
    """The order as a shop publishes it: (key, CloudEvent bytes)."""
    return order.customer_id, encode(new_event(order.event(), source=source))
