"""The scoring service: what each customer is worth and where they stand."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.scoring.api import router
from services.scoring.consumers import subscriptions
from services.scoring.models import metadata, tables
from services.scoring.settings import ScoringSettings
from shared.service import ServiceDefinition, create_service_app


DEFINITION = ServiceDefinition(
    name="scoring",
    title="Scoring service",
    description="RFM, customer lifetime value, value tiers, lifecycle stages and churn risk.",
    metadata=metadata,
    tables=tables,
    migrations=Path(__file__).parent / "migrations",
    routers=(router,),
    subscriptions=lambda settings: subscriptions(settings.rates()),
)


def create_app(settings: ScoringSettings | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or ScoringSettings())
