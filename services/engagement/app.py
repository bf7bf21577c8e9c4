"""The engagement service: who hears what, when, and through which channel."""
from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI

from services.engagement import api, api_campaigns, api_coupons, api_journeys, api_messages, api_templates
from services.engagement.consumers import subscriptions
from services.engagement.jobs import BACKGROUND_JOBS
from services.engagement.models import metadata, tables
from services.engagement.profile_client import ProfileClient
from services.engagement.settings import EngagementSettings
from shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    name="engagement",
    title="Engagement service",
    description="Campaigns, journeys, contact policy, outreach, loyalty points, coupons and recommendations.",
    metadata=metadata,
    tables=tables,
    migrations=Path(__file__).parent / "migrations",
    routers=(api.router, api_messages.router, api_templates.router, api_campaigns.router,
             api_journeys.router, api_coupons.router),
    subscriptions=lambda settings: subscriptions(settings.points_per_currency_unit),  # type: ignore[attr-defined]
    produces=("outreach-failed", "outreach-sent", "outreach-suppressed"),
    background_jobs=BACKGROUND_JOBS,
)


def create_app(settings: EngagementSettings | None = None) -> FastAPI:
    settings = settings or EngagementSettings()
    app = create_service_app(DEFINITION, settings)
    app.state.profile = ProfileClient(settings.profile_url, settings.profile_key(),
                                      timeout=settings.profile_timeout_seconds)
    app.state.dispatch_wake = asyncio.Event()
    return app
