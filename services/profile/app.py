"""The profile service: who each customer is and what they did."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.profile.api import router
from services.profile.consumers import SUBSCRIPTIONS
from services.profile.models import metadata, tables
from services.profile.settings import ProfileSettings
from shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    name="profile",
    title="Profile service",
    description="Customer profiles, identities, consent, purchase and interaction history.",
    metadata=metadata,
    tables=tables,
    migrations=Path(__file__).parent / "migrations",
    routers=(router,),
    subscriptions=lambda settings: SUBSCRIPTIONS,
    produces=("purchase-recorded", "customer-registered", "customer-erased"),
)


def create_app(settings: ProfileSettings | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or ProfileSettings())
