"""Poison records among good ones on a topic: the dead-letter topic receives exactly the poison ones, each with
the reason in its headers, and every good record is applied."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.support.apps import TEST_API_KEYS
from tests.support.kafka import eventually, produce, read_until
from tests.support.processes import start_service, until_ready
from tests.support.purchases import Order, as_record, expected_totals, orders, scoring_totals


def poison(good: Order) -> dict[str, tuple[str, bytes]]:
    """One record per way a record can be unusable, keyed by the error type the consumer names."""
    envelope = json.loads(as_record(good)[1])
    bad_amount = {**envelope, "id": "bad-amount", "data": {**envelope["data"], "total_amount": "lots"}}
    unknown_version = {**envelope, "id": "unknown-version", "dataversion": 9}
    future = Order(good.customer_id, "from-the-future", good.amount, datetime.now(timezone.utc) + timedelta(days=30))
    return {
        "UndecodableEvent": (good.customer_id, b'{"specversion": "1.0", "type": "purchase-rec'),
        "InvalidEventData": (good.customer_id, json.dumps(bad_amount).encode()),
        "UnknownEventType": (good.customer_id, json.dumps(unknown_version).encode()),
        "RejectEvent": as_record(future),
    }


async def test_poison_records_go_to_the_dlq_with_their_reason_and_the_good_ones_around_them_are_counted(
        own_broker: str, database_url: str, tmp_path: Path) -> None:
    good = orders(400, customers=30, seed=5, prefix="poison")
    bad = poison(good[0])
    records = [as_record(o) for o in good[:200]] + list(bad.values()) + [as_record(o) for o in good[200:]]
    scoring = start_service("scoring", database_url=database_url, broker=own_broker, api_keys=TEST_API_KEYS,
                            workdir=tmp_path)
    try:
        await until_ready(scoring)
        await produce(own_broker, "purchase-recorded", records)
        expected = expected_totals(good)

        async def all_good_counted() -> bool:
            return await scoring_totals(database_url) == expected
        await eventually(all_good_counted, timeout=120, interval=0.5)
        dead = await read_until(own_broker, "purchase-recorded.dlq", lambda rs: len(rs) >= len(bad), timeout=60)
    finally:
        scoring.stop()
    assert sorted(r.value for r in dead) == sorted(value for _, value in bad.values())
    for record in dead:
        headers = {name: value.decode() for name, value in record.headers}
        assert bad[headers["dlq-error-type"]][1] == record.value
        assert headers["dlq-reason"] and headers["dlq-original-topic"] == "purchase-recorded"
        assert headers["dlq-consumer-group"] == "scoring"
