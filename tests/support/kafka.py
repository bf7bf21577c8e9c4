"""Reading and writing topics directly, as an external system or an observer would."""
from __future__ import annotations

import asyncio
import time
import uuid
from typing import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from shared.events.envelope import CloudEvent, EventData, encode, new_event


async def produce(bootstrap: str, topic: str, records: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value=value, key=key.encode())
    finally:
        await producer.stop()


async def publish_events(bootstrap: str, events: list[EventData], *, source: str = "test-shop") -> list[CloudEvent]:
    envelopes = [new_event(data, source=source) for data in events]
    for envelope in envelopes:
        await produce(bootstrap, envelope.type, [(envelope.subject, encode(envelope))])
    return envelopes


async def read_until(bootstrap: str, topic: str, done: Callable[[list[ConsumerRecord]], bool], *,
                     key: str | None = None, timeout: float = 30.0) -> list[ConsumerRecord]:
    """Read `topic` from the start (records of `key` only, when given) until `done(records)` holds."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"observer-{uuid.uuid4().hex}",
                                auto_offset_reset="earliest", enable_auto_commit=False, metadata_max_age_ms=1000,
                                session_timeout_ms=6000, heartbeat_interval_ms=600)
    await consumer.start()
    seen: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    try:
        while not done(seen):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out reading {topic}: {len(seen)} matching records")
            batches = await consumer.getmany(timeout_ms=200)
            seen += [r for records in batches.values() for r in records if key is None or r.key == key.encode()]
    finally:
        await consumer.stop()
    return seen


async def eventually(check: Callable[[], object], *, timeout: float = 30.0, interval: float = 0.2) -> object:
    """Poll an (async) check until it returns a truthy value; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")
