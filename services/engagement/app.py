"""The engagement service: who hears what, when, and through which channel."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.engagement.api import router
from services.engagement.consumers import subscriptions
from services.engagement.models import metadata, tables
from services.engagement.settings import EngagementSettings
from shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    name="engagement",
    title="Engagement service",
    description="Campaigns, journeys, contact policy, outreach, loyalty points, coupons and recommendations.",
    metadata=metadata,
    tables=tables,
    migrations=Path(__file__).parent / "migrations",
    routers=(router,),
    subscriptions=lambda settings: subscriptions(settings.points_per_currency_unit),  # type: ignore[attr-defined]
)


def create_app(settings: EngagementSettings | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or EngagementSettings())
