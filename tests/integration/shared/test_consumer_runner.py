"""The consumer runner against the real broker and database: inbox, retries, dead letters, commits."""
from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import AsyncIterator

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from shared.bus.consumer import ConsumerRunner, Handler, Received
from shared.bus.errors import RejectEvent
from shared.bus.producer import Publisher
from shared.events.catalogue import CustomerErasedV1, PurchaseRecordedV1
from shared.events.envelope import encode, new_event
from shared.settings import ServiceSettings
from shared.uow import UnitOfWork
from tests.support.kafka import eventually, produce, read_until
from tests.support.mechanism import ledger_count, mechanism_database, record_in_ledger, tables, uow_factory

TOPIC = "purchase-recorded"


def purchase(customer_id: str, order_id: str, amount: str = "10.00") -> PurchaseRecordedV1:
    return PurchaseRecordedV1(order_id=order_id, customer_id=customer_id, total_amount=Decimal(amount),
                              currency="USD", occurred_at=datetime(2026, 1, 1, tzinfo=timezone.utc))


def event_bytes(customer_id: str, order_id: str, **envelope_changes: object) -> bytes:
    envelope = new_event(purchase(customer_id, order_id), source="test-shop")
    return encode(envelope.model_copy(update=envelope_changes)) if envelope_changes else encode(envelope)


@contextlib.asynccontextmanager
async def running_consumer(engine, broker: str, handler: Handler, *, group: str | None = None,
                           max_retries: int = 2) -> AsyncIterator[ConsumerRunner]:  # type: ignore[no-untyped-def]
    publisher = Publisher(ServiceSettings(service_name="test", kafka_bootstrap_servers=broker))
    runner = ConsumerRunner(
        bootstrap_servers=broker, group_id=group or f"test-{uuid.uuid4().hex[:8]}",
        subscriptions={(TOPIC, 1): handler}, unit_of_work=uow_factory(engine), inbox=tables.inbox,
        publisher=publisher, max_retries=max_retries, retry_backoff=0.01, session_timeout_ms=6000)
    task = asyncio.create_task(runner.run())
    try:
        yield runner
    finally:
        runner.stop()
        await task
        await publisher.close()


def dead_letters_of(customer_id: str, count: int, broker: str):  # type: ignore[no-untyped-def]
    return read_until(broker, f"{TOPIC}.dlq", lambda rs: len(rs) >= count, key=customer_id)


async def test_a_redelivered_event_has_no_second_effect(database_url: str, broker: str) -> None:
    customer_id = f"c-{uuid.uuid4().hex[:8]}"
    once = event_bytes(customer_id, "o-1")
    await produce(broker, TOPIC, [(customer_id, once), (customer_id, once)])
    async with mechanism_database(database_url) as engine:
        async with running_consumer(engine, broker, record_in_ledger):
            await eventually(lambda: ledger_count(engine, customer_id))
            await produce(broker, TOPIC, [(customer_id, once), (customer_id, event_bytes(customer_id, "o-2"))])
            await eventually(lambda: _equals(ledger_count(engine, customer_id), 2))
        assert await ledger_count(engine, customer_id) == 2


async def test_poison_records_go_to_the_dlq_with_reasons_and_the_records_after_them_are_applied(
        database_url: str, broker: str) -> None:
    customer_id = f"c-{uuid.uuid4().hex[:8]}"
    undecodable = b"\xff\xfe not json"
    unknown_version = event_bytes(customer_id, "o-v9", dataversion=9)
    invalid = event_bytes(customer_id, "o-bad").replace(b'"10.00"', b'"-5"')
    await produce(broker, TOPIC, [
        (customer_id, event_bytes(customer_id, "o-1")), (customer_id, undecodable), (customer_id, unknown_version),
        (customer_id, invalid), (customer_id, event_bytes(customer_id, "o-2")),
    ])
    async with mechanism_database(database_url) as engine:
        async with running_consumer(engine, broker, record_in_ledger):
            await eventually(lambda: _equals(ledger_count(engine, customer_id), 2))
    dead = await dead_letters_of(customer_id, 3, broker)
    assert [r.value for r in dead] == [undecodable, unknown_version, invalid]
    headers = [dict(r.headers) for r in dead]
    assert [h["dlq-error-type"] for h in headers] == [b"UndecodableEvent", b"UnknownEventType", b"InvalidEventData"]
    assert all(h["dlq-original-topic"] == TOPIC.encode() and h["dlq-original-offset"].isdigit() for h in headers)
    assert b"total_amount" in headers[2]["dlq-reason"]


async def test_an_event_whose_handler_keeps_failing_is_dead_lettered_alone(database_url: str, broker: str) -> None:
    customer_id = f"c-{uuid.uuid4().hex[:8]}"
    attempts: list[str] = []

    async def fails_on_cursed_order(uow: UnitOfWork, events: list[Received]) -> None:
        for event in events:
            attempts.append(event.data.order_id)  # type: ignore[attr-defined]
            if event.data.order_id == "cursed":  # type: ignore[attr-defined]
                raise ValueError("cannot apply the cursed order")
        await record_in_ledger(uow, events)

    await produce(broker, TOPIC, [(customer_id, event_bytes(customer_id, order))
                                  for order in ("o-1", "cursed", "o-2")])
    async with mechanism_database(database_url) as engine:
        async with running_consumer(engine, broker, fails_on_cursed_order, max_retries=2):
            dead = await dead_letters_of(customer_id, 1, broker)
            await eventually(lambda: _equals(ledger_count(engine, customer_id), 2))
    assert dict(dead[0].headers)["dlq-reason"] == b"cannot apply the cursed order"
    assert 3 <= attempts.count("cursed") <= 6  # the batch tries, then the record alone: bounded


async def test_an_event_a_handler_rejects_is_dead_lettered_at_once(database_url: str, broker: str) -> None:
    customer_id = f"c-{uuid.uuid4().hex[:8]}"
    calls = 0

    async def rejects_big_orders(uow: UnitOfWork, events: list[Received]) -> None:
        nonlocal calls
        calls += 1
        for event in events:
            if event.data.total_amount > 100:  # type: ignore[attr-defined]
                raise RejectEvent(event.envelope.id, "order too large for this test")
        await record_in_ledger(uow, events)

    await produce(broker, TOPIC, [(customer_id, event_bytes(customer_id, "o-1")),
                                  (customer_id, encode(new_event(purchase(customer_id, "big", "500"), source="x"))),
                                  (customer_id, event_bytes(customer_id, "o-2"))])
    async with mechanism_database(database_url) as engine:
        async with running_consumer(engine, broker, rejects_big_orders):
            dead = await dead_letters_of(customer_id, 1, broker)
            await eventually(lambda: _equals(ledger_count(engine, customer_id), 2))
    assert dict(dead[0].headers)["dlq-error-type"] == b"RejectEvent"
    assert json.loads(dead[0].value)["data"]["order_id"] == "big"


async def test_a_passing_database_failure_is_retried_and_never_dead_lettered(database_url: str, broker: str) -> None:
    customer_id = f"c-{uuid.uuid4().hex[:8]}"
    failures_left = 5  # more than max_retries: outages are waited out, not counted

    async def flaky_database(uow: UnitOfWork, events: list[Received]) -> None:
        nonlocal failures_left
        if any(e.data.customer_id == customer_id for e in events) and failures_left:  # type: ignore[attr-defined]
            failures_left -= 1
            raise OperationalError("SELECT 1", {}, ConnectionError("database went away"))
        await record_in_ledger(uow, events)

    await produce(broker, TOPIC, [(customer_id, event_bytes(customer_id, "o-1"))])
    async with mechanism_database(database_url) as engine:
        async with running_consumer(engine, broker, flaky_database, max_retries=1):
            await eventually(lambda: ledger_count(engine, customer_id))
        assert await ledger_count(engine, customer_id) == 1
    assert failures_left == 0


async def test_a_restarted_consumer_resumes_after_the_last_committed_batch(database_url: str, broker: str) -> None:
    customer_id = f"c-{uuid.uuid4().hex[:8]}"
    group = f"resume-{uuid.uuid4().hex[:8]}"
    seen_by_second: list[str] = []

    async def remember(uow: UnitOfWork, events: list[Received]) -> None:
        seen_by_second.extend(e.data.order_id for e in events if e.data.customer_id == customer_id)  # type: ignore[attr-defined]
        await record_in_ledger(uow, events)

    async with mechanism_database(database_url) as engine:
        await produce(broker, TOPIC, [(customer_id, event_bytes(customer_id, f"first-{i}")) for i in range(3)])
        async with running_consumer(engine, broker, record_in_ledger, group=group):
            await eventually(lambda: _equals(ledger_count(engine, customer_id), 3))
        await produce(broker, TOPIC, [(customer_id, event_bytes(customer_id, f"second-{i}")) for i in range(2)])
        async with running_consumer(engine, broker, remember, group=group):
            await eventually(lambda: _equals(ledger_count(engine, customer_id), 5))
    assert seen_by_second == ["second-0", "second-1"]


async def test_events_a_handler_records_carry_the_correlation_id_of_the_event_that_caused_them(
        database_url: str, broker: str) -> None:
    customer_id = f"c-{uuid.uuid4().hex[:8]}"
    correlation_id = f"corr-{uuid.uuid4().hex}"

    async def erase_after_purchase(uow: UnitOfWork, events: list[Received]) -> None:
        for event in events:
            uow.record(CustomerErasedV1(customer_id=event.data.customer_id), caused_by=event)  # type: ignore[attr-defined]

    await produce(broker, TOPIC, [(customer_id, event_bytes(customer_id, "o-1", correlationid=correlation_id))])
    async with mechanism_database(database_url) as engine:
        async with running_consumer(engine, broker, erase_after_purchase):
            async def outbox_correlation() -> str | None:
                async with engine.connect() as connection:
                    payload = await connection.scalar(select(tables.outbox.c.payload)
                                                      .where(tables.outbox.c.key == customer_id))
                return json.loads(payload)["correlationid"] if payload else None
            assert await eventually(outbox_correlation) == correlation_id


async def _equals(count_coroutine, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return await count_coroutine == expected


async def test_a_consumer_whose_loop_fails_rejoins_and_applies_the_batch_from_the_last_commit(
        database_url: str, broker: str) -> None:
    customer_id = f"c-{uuid.uuid4().hex[:8]}"
    broken_once = False

    async def rejects_an_event_it_never_received(uow: UnitOfWork, events: list[Received]) -> None:
        nonlocal broken_once
        if not broken_once and any(e.data.customer_id == customer_id for e in events):  # type: ignore[attr-defined]
            broken_once = True
            raise RejectEvent("not-in-this-batch", "a handler bug")  # the runner cannot honour this
        await record_in_ledger(uow, events)

    await produce(broker, TOPIC, [(customer_id, event_bytes(customer_id, "o-1"))])
    async with mechanism_database(database_url) as engine:
        async with running_consumer(engine, broker, rejects_an_event_it_never_received):
            await eventually(lambda: ledger_count(engine, customer_id), timeout=45)
        assert await ledger_count(engine, customer_id) == 1
    assert broken_once
