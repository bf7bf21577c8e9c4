"""The profile service: who each customer is and what they did."""
from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI

from services.profile import api, api_customers, api_identity, api_segments
from services.profile.consumers import SUBSCRIPTIONS
from services.profile.models import metadata, tables
from services.profile.segment_handlers import BACKGROUND_JOBS
from services.profile.settings import ProfileSettings
from shared.db import create_engine
from shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    name="profile",
    title="Profile service",
    description="Customer profiles, identities, consent, purchase and interaction history, segments.",
    metadata=metadata,
    tables=tables,
    migrations=Path(__file__).parent / "migrations",
    routers=(api_customers.router, api_identity.router, api.router, api_segments.router),
    background_jobs=BACKGROUND_JOBS,
    subscriptions=lambda settings: SUBSCRIPTIONS,
    produces=("purchase-recorded", "purchase-refunded", "customer-registered", "customer-updated", "customer-merged",
              "customer-erased", "interaction-recorded", "segment-membership-changed"),
)


def create_app(settings: ProfileSettings | None = None) -> FastAPI:
    settings = settings or ProfileSettings()
    app = create_service_app(DEFINITION, settings)
    app.state.vault = settings.personal_data_vault()
    platform_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with platform_lifespan(app):
            # Reads of the 360 view need no transaction: their own pool of autocommit connections,
            # not pinged before each use (a read on a dropped connection is retried instead). Every
            # connection opened is kept: under a burst, requests wait their turn for one rather than open
            # and close connections (each costs a handshake and the driver's type introspection).
            app.state.read_engine = create_engine(settings.database_url, pool_size=2 * settings.db_pool_size,
                                                  max_overflow=0, isolation_level="AUTOCOMMIT", pre_ping=False)
            # What is alive once the service has started (modules, models, compiled statements) lives
            # as long as the process: keep it out of the collector's full passes, which would
            # otherwise walk it again and again under ingestion's allocation rate.
            gc.collect()
            gc.freeze()
            try:
                yield
            finally:
                gc.unfreeze()
                await app.state.read_engine.dispose()

    app.router.lifespan_context = lifespan
    return app
