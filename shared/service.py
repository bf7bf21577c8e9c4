"""Builds a service's FastAPI app: database, outbox relay and consumer started in the lifespan."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from shared.bus.consumer import ConsumerRunner, Subscriptions
from shared.bus.producer import Publisher
from shared.bus.topics import ensure_topics
from shared.db import create_engine
from shared.events.registry import dlq_topic
from shared.http import health
from shared.http.auth import ApiKeys
from shared.http.idempotency import forget_old_answers
from shared.http.middleware import PlatformMiddleware
from shared.http.problems import install_problem_handlers
from shared.http.ratelimit import RateLimiter
from shared.metrics import PlatformMetrics
from shared.migrations import upgrade_to_head
from shared.outbox import OutboxRelay
from shared.scheduler import periodic
from shared.settings import ServiceSettings
from shared.tables import PlatformTables
from shared.uow import UnitOfWork, unit_of_work_factory

log = logging.getLogger(__name__)

BackgroundJob = Callable[[FastAPI], Awaitable[None]]
#: Allocations before a young collection, then young collections before an older one, and so on.
COLLECTOR_THRESHOLDS = (20_000, 50, 100)


@dataclass(frozen=True)
class ServiceDefinition:
    """What makes one service: its tables, routes, subscriptions and the topics it writes."""

    name: str
    title: str
    description: str
    metadata: MetaData
    tables: PlatformTables
    migrations: Path
    routers: tuple[APIRouter, ...]
    #: Builds the subscription table; settings can shape handlers (e.g. currency rates).
    subscriptions: Callable[[ServiceSettings], Subscriptions] = lambda settings: {}
    produces: tuple[str, ...] = ()
    background_jobs: tuple[BackgroundJob, ...] = ()

    def consumed_topics(self, settings: ServiceSettings) -> list[str]:
        return sorted({event_type for event_type, _ in self.subscriptions(settings)})

    def topics(self, settings: ServiceSettings) -> list[str]:
        consumed = self.consumed_topics(settings)
        return sorted(set(consumed) | set(self.produces) | {dlq_topic(t) for t in consumed})


def create_service_app(definition: ServiceDefinition, settings: ServiceSettings) -> FastAPI:
    metrics = PlatformMetrics()
    app = FastAPI(title=definition.title, description=definition.description, version="1.0.0",
                  lifespan=lambda app: _lifespan(app, definition, settings))
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.tables = definition.tables
    app.state.api_keys = ApiKeys(settings.effective_api_keys())
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
    app.add_middleware(PlatformMiddleware, max_body_bytes=settings.max_body_bytes, metrics=metrics.http)  # type: ignore[arg-type]
    install_problem_handlers(app)
    app.include_router(health.router)
    for router in definition.routers:
        app.include_router(router)
    return app


async def _forget_idempotent_answers(app: FastAPI) -> None:
    await forget_old_answers(app.state.engine, app.state.tables.idempotency,
                             timedelta(hours=app.state.settings.idempotency_retention_hours))


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI, definition: ServiceDefinition, settings: ServiceSettings) -> AsyncIterator[None]:
    state = app.state
    # A consumer's batch allocates tens of thousands of short-lived objects; at the default threshold
    # (700 allocations) the collector ran every few events' worth and took a sixth of ingestion's CPU.
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    state.engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    # The consumer and the relay retry a failed batch by themselves, so their connections are not pinged
    # at checkout (on asyncpg a ping is three round trips: BEGIN, an empty statement, ROLLBACK).
    state.worker_engine = state.engine if state.engine.dialect.name == "sqlite" else create_engine(
        settings.database_url, pool_size=settings.db_pool_size, pre_ping=False)
    if settings.migrate_on_start:
        await upgrade_to_head(state.engine, definition.migrations)
    state.publisher = Publisher(settings)
    state.relay = OutboxRelay(
        state.worker_engine, definition.tables.outbox, state.publisher, service=definition.name,
        poll_interval=settings.outbox_poll_interval_ms / 1000, batch_size=settings.outbox_batch_size,
        retention=timedelta(hours=settings.outbox_retention_hours),
    )

    def units_of_work(engine: AsyncEngine) -> Callable[[], UnitOfWork]:
        return unit_of_work_factory(async_sessionmaker(engine, expire_on_commit=False), definition.tables.outbox,
                                    source=f"/services/{definition.name}", on_commit=state.relay.wake)

    state.unit_of_work = units_of_work(state.engine)
    state.consumer = ConsumerRunner(
        bootstrap_servers=settings.kafka_bootstrap_servers, group_id=settings.consumer_group,
        subscriptions=definition.subscriptions(settings), unit_of_work=units_of_work(state.worker_engine),
        inbox=definition.tables.inbox,
        publisher=state.publisher, metrics=state.metrics.consumer, batch_size=settings.consumer_batch_size,
        max_retries=settings.consumer_max_retries, retry_backoff=settings.consumer_retry_backoff_ms / 1000,
        client_id=f"{definition.name}-consumer", session_timeout_ms=settings.consumer_session_timeout_ms,
        fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
    )
    relay_task = asyncio.create_task(state.relay.run(), name="outbox-relay")
    bus_task = asyncio.create_task(_run_bus(definition, settings, state.consumer), name="consumer")
    jobs = (*definition.background_jobs, periodic("forget-idempotent-answers", timedelta(hours=1), _forget_idempotent_answers))
    job_tasks = [asyncio.create_task(job(app), name=job.__name__) for job in jobs]
    log.info("service started", extra={"port": settings.port})
    try:
        yield
    finally:
        state.consumer.stop()  # finish the batch in hand, commit, leave the group
        state.relay.stop()
        if not state.consumer.started.is_set():
            bus_task.cancel()
        for task in job_tasks:
            task.cancel()
        await asyncio.gather(relay_task, bus_task, *job_tasks, return_exceptions=True)
        await state.publisher.close()
        if state.worker_engine is not state.engine:
            await state.worker_engine.dispose()
        await state.engine.dispose()
        log.info("service stopped")


async def _run_bus(definition: ServiceDefinition, settings: ServiceSettings, consumer: ConsumerRunner) -> None:
    """Create the service's topics (Apache Kafka may not auto-create them), then consume."""
    backoff = 0.5
    while True:
        try:
            await ensure_topics(settings.kafka_bootstrap_servers, definition.topics(settings),
                                partitions=settings.kafka_topic_partitions,
                                replication_factor=settings.kafka_replication_factor)
            break
        except Exception as exc:
            log.warning("could not create topics yet, retrying", extra={"error": repr(exc)})
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
    if settings.consumer_enabled and consumer.subscriptions:
        await consumer.run()


async def get_unit_of_work(request: Request) -> UnitOfWork:
    return request.app.state.unit_of_work()


UowDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]
