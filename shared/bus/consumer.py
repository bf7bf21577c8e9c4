"""The consumer runner: batches from a consumer group, applied in one transaction, then committed.

Offsets are committed only after the database transaction (and any dead-lettering) succeeded, so a
crash replays the batch and the inbox drops what was already applied. A record that cannot be
decoded, has no subscription, or keeps failing after bounded retries goes to `<topic>.dlq` with the
reason in headers; the records after it are processed as usual.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from itertools import groupby
from typing import Awaitable, Callable, Mapping, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from sqlalchemy import Table

from shared.bus.errors import RejectEvent, is_transient
from shared.bus.producer import Publisher
from shared.events.envelope import CloudEvent, EventData
from shared.events.registry import EventRejected, UnknownEventType, dlq_topic, parse
from shared.inbox import claim_new
from shared.logging import reset_correlation_id, set_correlation_id
from shared.metrics import ConsumerMetrics
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    """One decoded event, as handlers see it."""

    envelope: CloudEvent
    data: EventData
    record: ConsumerRecord


Handler = Callable[[UnitOfWork, list[Received]], Awaitable[None]]
Subscriptions = Mapping[tuple[str, int], Handler]


@dataclass(frozen=True)
class _Delivery:
    received: Received
    handler: Handler
    inbox_key: tuple[str, str]  # (source, id) of the event


class ConsumerRunner:
    def __init__(self, *, bootstrap_servers: str, group_id: str, subscriptions: Subscriptions,
                 unit_of_work: Callable[[], UnitOfWork], inbox: Table, publisher: Publisher,
                 metrics: ConsumerMetrics | None = None, batch_size: int = 2000, max_retries: int = 3,
                 retry_backoff: float = 0.2, client_id: str | None = None, session_timeout_ms: int = 10_000,
                 fetch_max_wait_ms: int = 50):
        self.subscriptions = dict(subscriptions)
        self.topics = sorted({event_type for event_type, _ in self.subscriptions})
        self.group_id = group_id
        self._bootstrap = bootstrap_servers
        self._client_id = client_id or group_id
        self._unit_of_work = unit_of_work
        self._inbox = inbox
        self._publisher = publisher
        self._metrics = metrics
        self._batch_size = batch_size
        self._max_retries = max_retries
        self._backoff = retry_backoff
        self._session_timeout_ms = session_timeout_ms
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._stopping = asyncio.Event()
        self.started = asyncio.Event()

    def stop(self) -> None:
        """Ask the runner to finish its current batch, commit and close."""
        self._stopping.set()

    async def run(self) -> None:
        """Consume until stop(). If the loop fails (a commit refused after a rebalance, a bug), the
        failure is logged and the consumer rejoins the group from its last committed offsets."""
        while not self._stopping.is_set():
            consumer = await self._start_consumer()
            if consumer is None:
                return
            try:
                self.started.set()
                await self._consume(consumer)
            except Exception:
                log.exception("consumer loop failed; rejoining from the last committed offsets")
                await self._pause(1.0)
            finally:
                await consumer.stop()

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        # Two batches in flight: while one is applied (mostly waiting on the database), the next is
        # fetched and decoded. Batches are still applied and committed one after the other, in order.
        applying: asyncio.Task[None] | None = None
        try:
            while not self._stopping.is_set():
                batches = await consumer.getmany(timeout_ms=200, max_records=self._batch_size)
                records = [record for partition_records in batches.values() for record in partition_records]
                if applying is not None and applying.done():
                    applying.result()  # a batch that failed fails the loop, which rejoins from the last commit
                if not records:
                    continue
                started = time.perf_counter()
                deliveries = await self._decode_all(records)
                if applying is not None:
                    await applying
                applying = asyncio.create_task(self._apply_and_commit(consumer, batches, deliveries, started))
            if applying is not None:
                await applying
        finally:
            if applying is not None and not applying.done():
                applying.cancel()
                await asyncio.gather(applying, return_exceptions=True)

    async def _apply_and_commit(self, consumer: AIOKafkaConsumer, batches: Mapping[TopicPartition, list[ConsumerRecord]],
                                deliveries: list[_Delivery], started: float) -> None:
        await self._apply_all(deliveries)
        await consumer.commit({
            tp: OffsetAndMetadata(partition_records[-1].offset + 1, "")
            for tp, partition_records in batches.items()
        })
        self._observe(consumer, batches, sum(len(r) for r in batches.values()), time.perf_counter() - started)

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once when asked to stop."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _start_consumer(self) -> AIOKafkaConsumer | None:
        backoff = 0.5
        while not self._stopping.is_set():
            consumer = AIOKafkaConsumer(
                *self.topics,
                bootstrap_servers=self._bootstrap,
                group_id=self.group_id,
                client_id=self._client_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=self._batch_size,
                metadata_max_age_ms=5_000,
                session_timeout_ms=self._session_timeout_ms,
                heartbeat_interval_ms=max(100, self._session_timeout_ms // 10),
                fetch_max_wait_ms=self._fetch_max_wait_ms,
            )
            try:
                await consumer.start()
                return consumer
            except Exception as exc:
                await consumer.stop()
                log.warning("consumer could not reach the broker, retrying", extra={"error": repr(exc)})
                await self._pause(backoff)
                backoff = min(backoff * 2, 5.0)
        return None

    async def process(self, records: Sequence[ConsumerRecord]) -> None:
        """Apply a batch of records; dead-letter the ones that cannot be applied."""
        await self._apply_all(await self._decode_all(records))

    async def _decode_all(self, records: Sequence[ConsumerRecord]) -> list[_Delivery]:
        deliveries: list[_Delivery] = []
        for position, record in enumerate(records, start=1):
            try:
                deliveries.append(self._decode(record))
            except EventRejected as exc:
                await self._dead_letter(record, type(exc).__name__, exc.reason)
            if position % 250 == 0:
                await asyncio.sleep(0)  # let the batch being applied send its next statement
        return deliveries

    def _decode(self, record: ConsumerRecord) -> _Delivery:
        envelope, data = parse(record.value)
        if envelope.type != record.topic:
            raise UnknownEventType(f"event type {envelope.type!r} does not belong on topic {record.topic!r}")
        handler = self.subscriptions.get((envelope.type, envelope.dataversion))
        if handler is None:
            raise UnknownEventType(
                f"no subscription for type {envelope.type!r} dataversion {envelope.dataversion} in {self.group_id}"
            )
        return _Delivery(Received(envelope, data, record), handler, (envelope.source, envelope.id))

    async def _apply_all(self, deliveries: list[_Delivery]) -> None:
        """Apply the batch in one transaction; on persistent failure find the failing records."""
        attempt = 0
        while deliveries:
            try:
                await self._apply(deliveries)
                return
            except RejectEvent as exc:
                deliveries = await self._drop_rejected(deliveries, exc)
            except Exception as exc:
                if is_transient(exc):
                    # The database is away: wait for it rather than dead-letter good records.
                    log.warning("transient failure applying batch, retrying", extra={"error": repr(exc)})
                    await asyncio.sleep(min(self._backoff * 2 ** min(attempt, 5), 5.0))
                    attempt += 1
                    continue
                attempt += 1
                if attempt <= self._max_retries:
                    await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
                    continue
                if len(deliveries) == 1:
                    await self._dead_letter(deliveries[0].received.record, type(exc).__name__, str(exc))
                    return
                for delivery in deliveries:  # isolate the poison record: one transaction each
                    await self._apply_all([delivery])
                return

    async def _drop_rejected(self, deliveries: list[_Delivery], exc: RejectEvent) -> list[_Delivery]:
        rejected = [d for d in deliveries if d.received.envelope.id == exc.event_id]
        if not rejected:
            raise RuntimeError("a handler rejected an event that is not in the batch") from exc
        for delivery in rejected:
            await self._dead_letter(delivery.received.record, "RejectEvent", exc.reason)
        return [d for d in deliveries if d.received.envelope.id != exc.event_id]

    async def _apply(self, deliveries: list[_Delivery]) -> None:
        async with self._unit_of_work() as uow:
            fresh_keys = await claim_new(uow.session, self._inbox, [d.inbox_key for d in deliveries])
            fresh: list[_Delivery] = []
            for delivery in deliveries:  # keep the first of in-batch duplicates
                if delivery.inbox_key in fresh_keys:
                    fresh_keys.discard(delivery.inbox_key)
                    fresh.append(delivery)
            for handler, group in groupby(fresh, key=lambda d: d.handler):
                received = [d.received for d in group]
                # Log lines carry the correlation id when the whole group shares one.
                correlation_ids = {r.envelope.correlationid for r in received}
                token = set_correlation_id(correlation_ids.pop() if len(correlation_ids) == 1 else None)
                try:
                    await handler(uow, received)
                finally:
                    reset_correlation_id(token)
            await uow.commit()
        if self._metrics is not None:
            self._metrics.duplicates.labels(self.group_id).inc(len(deliveries) - len(fresh))

    async def _dead_letter(self, record: ConsumerRecord, error_type: str, reason: str) -> None:
        headers = [
            ("dlq-reason", reason.encode()[:4000]),
            ("dlq-error-type", error_type.encode()),
            ("dlq-original-topic", record.topic.encode()),
            ("dlq-original-partition", str(record.partition).encode()),
            ("dlq-original-offset", str(record.offset).encode()),
            ("dlq-consumer-group", self.group_id.encode()),
        ]
        log.warning("dead-lettering record", extra={"topic": record.topic, "offset": record.offset,
                                                    "error_type": error_type, "reason": reason[:500]})
        while True:
            try:
                await self._publisher.publish(dlq_topic(record.topic), record.key, record.value or b"", headers)
                break
            except Exception as exc:  # never commit past a record that is neither applied nor dead-lettered
                log.warning("dead-letter publish failed, retrying", extra={"error": repr(exc)})
                await asyncio.sleep(1.0)
        if self._metrics is not None:
            self._metrics.dead_lettered.labels(self.group_id, record.topic).inc()

    def _observe(self, consumer: AIOKafkaConsumer, batches: Mapping[TopicPartition, list[ConsumerRecord]],
                 count: int, seconds: float) -> None:
        if self._metrics is None:
            return
        self._metrics.processed.labels(self.group_id).inc(count)
        self._metrics.batch_seconds.labels(self.group_id).observe(seconds)
        for tp, partition_records in batches.items():
            highwater = consumer.highwater(tp)
            if highwater is not None:
                lag = highwater - (partition_records[-1].offset + 1)
                self._metrics.lag.labels(self.group_id, tp.topic, str(tp.partition)).set(lag)
