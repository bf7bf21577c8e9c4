"""The profile service: who each customer is and what they did."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.profile import api, api_customers, api_identity, api_segments
from services.profile.consumers import SUBSCRIPTIONS
from services.profile.models import metadata, tables
from services.profile.segment_handlers import BACKGROUND_JOBS
from services.profile.settings import ProfileSettings
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
    return app
