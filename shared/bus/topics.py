"""Creating the topics a service uses, with the configured partitions, before it starts."""
from __future__ import annotations

import logging
from typing import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)


async def ensure_topics(bootstrap_servers: str, topics: Iterable[str], *, partitions: int, replication_factor: int) -> None:
    wanted = sorted(set(topics))
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if not missing:
            return
        try:
            await admin.create_topics(
                [NewTopic(name=t, num_partitions=partitions, replication_factor=replication_factor) for t in missing]
            )
        except TopicAlreadyExistsError:
            pass  # another replica created it first
        log.info("created topics", extra={"topics": missing})
    finally:
        await admin.close()
