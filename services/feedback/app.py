"""The feedback service: surveys, responses, complaints and follow-ups."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.feedback.api import router
from services.feedback.consumers import SUBSCRIPTIONS
from services.feedback.models import metadata, tables
from services.feedback.settings import FeedbackSettings
from shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    name="feedback",
    title="Feedback service",
    description="NPS/CSAT/CES surveys, invitations, responses, complaints with deadlines, and follow-ups.",
    metadata=metadata,
    tables=tables,
    migrations=Path(__file__).parent / "migrations",
    routers=(router,),
    subscriptions=lambda settings: SUBSCRIPTIONS,
    produces=("complaint-opened",),
)


def create_app(settings: FeedbackSettings | None = None) -> FastAPI:
    return create_service_app(DEFINITION, settings or FeedbackSettings())
