"""Helpers for the scoring integration tests (no tests here): a module-scoped app, fast publishing, polling."""
from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from services.scoring.app import create_app
from services.scoring.settings import ScoringSettings
from shared.events.envelope import CloudEvent, EventData, encode, new_event
from tests.support.apps import running_app, settings_for
from tools.scratch_databases import fresh_database
from tests.support.kafka import eventually


@contextlib.asynccontextmanager
async def scoring_service(broker: str, scratch: Path, **overrides: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A scoring app on a database of its own, for a whole test module."""
    async with fresh_database(os.environ.get("TEST_DATABASE_URL"), scratch) as url:
        settings = settings_for(ScoringSettings, database_url=url, broker=broker, **overrides)
        async with running_app(create_app, settings) as running:
            yield running


def new_customer() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"


async def publish_many(broker: str, events: list[EventData], *, source: str = "shop") -> list[CloudEvent]:
    """Publish in order through one producer (tests/support's publish_events opens one per event)."""
    envelopes = [new_event(data, source=source) for data in events]
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all", linger_ms=5)
    await producer.start()
    try:
        sent = [await producer.send(e.type, value=encode(e), key=e.subject.encode()) for e in envelopes]
        for delivery in sent:
            await delivery
    finally:
        await producer.stop()
    return envelopes


async def score_when(http: httpx.AsyncClient, customer_id: str, condition: Any, timeout: float = 30.0) -> dict:  # type: ignore[type-arg]
    """The customer's score once `condition(score)` holds."""
    async def check() -> dict | None:  # type: ignore[type-arg]
        response = await http.get(f"/scores/{customer_id}")
        if response.status_code != 200:
            return None
        body = response.json()
        return body if condition(body) else None

    return await eventually(check, timeout=timeout)  # type: ignore[return-value]
