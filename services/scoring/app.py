"""The scoring service: what each customer is worth and where they stand."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.scoring import api, api_analytics, api_models
from services.scoring.consumers import ingest_config, subscriptions
from services.scoring.jobs import BACKGROUND_JOBS
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
    routers=(api.router, api_models.router, api_analytics.router),
    subscriptions=lambda settings: subscriptions(ingest_config(settings)),
    produces=("tier-changed", "lifecycle-stage-changed", "churn-risk-changed"),
    background_jobs=BACKGROUND_JOBS,
)


def create_app(settings: ScoringSettings | None = None) -> FastAPI:
    settings = settings or ScoringSettings()
    app = create_service_app(DEFINITION, settings)
    app.state.scoring_config = ingest_config(settings).scoring
    app.state.fit_tasks = set()
    return app
