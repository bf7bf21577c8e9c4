"""The Kafka producer the outbox relay and the dead-letter path publish through."""
from __future__ import annotations

import asyncio
import logging
from typing import Sequence

from aiokafka import AIOKafkaProducer

from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

Header = tuple[str, bytes]


class Publisher:
    """Wraps AIOKafkaProducer: started lazily and again after a failed start, so a service can
    come up while the broker is down and publish once it is back."""

    def __init__(self, settings: ServiceSettings, *, request_timeout_ms: int = 10_000):
        self._settings = settings
        self._request_timeout_ms = request_timeout_ms
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _ensure_started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self._settings.kafka_bootstrap_servers,
                    client_id=f"{self._settings.service_name}-producer",
                    acks="all",
                    enable_idempotence=self._settings.kafka_enable_idempotence,
                    linger_ms=2,
                    max_batch_size=256 * 1024,
                    request_timeout_ms=self._request_timeout_ms,
                )
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def publish_many(self, records: Sequence[tuple[str, str, bytes]],
                           headers: Sequence[Header] | None = None) -> None:
        """Send (topic, key, value) records and wait until the broker has acknowledged all of them.
        Records are handed to the producer in order, so per-partition order is kept."""
        producer = await self._ensure_started()
        futures = [
            await producer.send(topic, value=value, key=key.encode(), headers=list(headers or ()))
            for topic, key, value in records
        ]
        await asyncio.gather(*futures)

    async def publish(self, topic: str, key: bytes | None, value: bytes, headers: Sequence[Header]) -> None:
        producer = await self._ensure_started()
        await producer.send_and_wait(topic, value=value, key=key, headers=list(headers))

    async def reachable(self, timeout: float = 2.0) -> bool:
        try:
            producer = await asyncio.wait_for(self._ensure_started(), timeout)
            return await asyncio.wait_for(producer.client.force_metadata_update(), timeout)
        except Exception:
            return False

    async def close(self) -> None:
        async with self._lock:
            if self._producer is not None:
                await self._producer.stop()
                self._producer = None
