"""The transactional outbox against the real broker and database."""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import delete, func, insert, select

from shared.bus.producer import Publisher
from shared.events.catalogue import PurchaseRecordedV1
from shared.outbox import OutboxRelay
from shared.settings import ServiceSettings
from tests.support.kafka import eventually, read_until
from tests.support.mechanism import mechanism_database, tables, uow_factory


def purchase(customer_id: str, order_id: str) -> PurchaseRecordedV1:
    return PurchaseRecordedV1(order_id=order_id, customer_id=customer_id, total_amount=Decimal("10.00"),
                              currency="USD", occurred_at=datetime(2026, 1, 1, tzinfo=timezone.utc))


def relay_for(engine, bootstrap: str) -> OutboxRelay:  # type: ignore[no-untyped-def]
    publisher = Publisher(ServiceSettings(service_name="test", kafka_bootstrap_servers=bootstrap),
                          request_timeout_ms=3000)
    return OutboxRelay(engine, tables.outbox, publisher, service="test", poll_interval=0.05)


async def unpublished(engine) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as connection:
        return await connection.scalar(
            select(func.count()).select_from(tables.outbox).where(tables.outbox.c.published_at.is_(None)))


async def record_orders(engine, customer_id: str, order_ids: list[str]) -> None:  # type: ignore[no-untyped-def]
    new_uow = uow_factory(engine)
    for order_id in order_ids:
        async with new_uow() as uow:
            uow.record(purchase(customer_id, order_id))
            await uow.commit()


async def test_events_of_a_rolled_back_unit_of_work_never_reach_the_outbox(database_url: str) -> None:
    async with mechanism_database(database_url) as engine:
        async with uow_factory(engine)() as uow:
            uow.record(purchase("c-rollback", "o-1"))
            await uow.rollback()
        async with uow_factory(engine)() as uow:
            uow.record(purchase("c-rollback", "o-2"))  # leaves the block without commit
        assert await unpublished(engine) == 0


async def test_relay_publishes_committed_events_in_order_per_key(database_url: str, broker: str) -> None:
    customer_id = f"c-{uuid.uuid4().hex[:8]}"
    orders = [f"o-{i}" for i in range(20)]
    async with mechanism_database(database_url) as engine:
        await record_orders(engine, customer_id, orders)
        relay = relay_for(engine, broker)
        assert await relay.publish_once() == 20
        await relay.publisher.close()
        assert await unpublished(engine) == 0
    records = await read_until(broker, "purchase-recorded", lambda rs: len(rs) >= 20, key=customer_id)
    assert [json.loads(r.value)["data"]["order_id"] for r in records] == orders


async def test_events_recorded_in_one_unit_of_work_are_published_in_the_order_recorded(
        database_url: str, broker: str) -> None:
    customer_id = f"c-{uuid.uuid4().hex[:8]}"
    orders = [f"o-{i}" for i in range(300)]
    async with mechanism_database(database_url) as engine:
        async with uow_factory(engine)() as uow:
            for order_id in orders:
                uow.record(purchase(customer_id, order_id))
            await uow.commit()
        relay = relay_for(engine, broker)
        assert await relay.publish_once() == 300
        await relay.publisher.close()
    records = await read_until(broker, "purchase-recorded", lambda rs: len(rs) >= 300, key=customer_id)
    assert [json.loads(r.value)["data"]["order_id"] for r in records] == orders


async def test_relay_keeps_events_through_a_broker_outage_and_publishes_them_after(
        database_url: str, broker_behind_proxy) -> None:  # type: ignore[no-untyped-def]
    own_broker, network = broker_behind_proxy
    customer_id = f"c-{uuid.uuid4().hex[:8]}"
    async with mechanism_database(database_url) as engine:
        relay = relay_for(engine, own_broker.bootstrap_servers)
        running = asyncio.create_task(relay.run())
        await record_orders(engine, customer_id, ["before-outage"])
        await eventually(lambda: relay.stats.published == 1)

        await network.cut()
        await record_orders(engine, customer_id, ["during-outage-1", "during-outage-2"])
        await eventually(lambda: relay.stats.failures >= 1, timeout=30)
        assert await unpublished(engine) == 2

        await network.start()
        await eventually(lambda: relay.stats.published >= 3, timeout=60)
        relay.stop()
        await running
        await relay.publisher.close()
        assert await unpublished(engine) == 0
    records = await read_until(own_broker.bootstrap_servers, "purchase-recorded",
                               lambda rs: {"during-outage-1", "during-outage-2"} <= {
                                   json.loads(r.value)["data"]["order_id"] for r in rs}, key=customer_id)
    assert len(records) >= 2


async def test_a_new_relay_publishes_what_an_earlier_one_left_behind(database_url: str, broker: str) -> None:
    customer_id = f"c-{uuid.uuid4().hex[:8]}"
    async with mechanism_database(database_url) as engine:
        await record_orders(engine, customer_id, ["o-1", "o-2", "o-3"])
        first = relay_for(engine, broker)
        first.batch_size = 1
        assert await first.publish_once() == 1
        await first.publisher.close()  # the process stops here

        second = relay_for(engine, broker)
        while await second.publish_once():
            pass
        await second.publisher.close()
        assert await unpublished(engine) == 0
    records = await read_until(broker, "purchase-recorded", lambda rs: len(rs) >= 3, key=customer_id)
    assert [json.loads(r.value)["data"]["order_id"] for r in records] == ["o-1", "o-2", "o-3"]


async def test_an_event_committed_late_below_the_relays_floor_is_published_by_the_next_full_look(
        database_url: str, broker: str) -> None:
    customer_id = f"c-{uuid.uuid4().hex[:8]}"
    async with mechanism_database(database_url) as engine:
        await record_orders(engine, customer_id, ["committed-late", "committed-first"])
        async with engine.begin() as connection:  # the first event's transaction has not committed yet
            late = (await connection.execute(delete(tables.outbox).where(tables.outbox.c.id == select(
                func.min(tables.outbox.c.id)).scalar_subquery()).returning(*tables.outbox.c))).one()
        relay = relay_for(engine, broker)
        relay.full_scan_interval = 0.5
        assert await relay.publish_once() == 1

        async with engine.begin() as connection:  # now it has, under the id it took first
            await connection.execute(insert(tables.outbox).values(**late._asdict()))
        assert await relay.publish_once() == 0  # it looks from its floor, past the late event's id
        await asyncio.sleep(0.5)
        assert await relay.publish_once() == 1
        await relay.publisher.close()
        assert await unpublished(engine) == 0
    records = await read_until(broker, "purchase-recorded", lambda rs: len(rs) >= 2, key=customer_id)
    assert [json.loads(r.value)["data"]["order_id"] for r in records] == ["committed-first", "committed-late"]
