"""The feedback service: surveys, invitations, responses, analytics, complaints and follow-ups."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.feedback import api, api_analytics, api_public, api_surveys
from services.feedback.consumers import subscriptions
from services.feedback.errors import FeedbackError
from services.feedback.handlers_surveys import Definitions
from services.feedback.jobs import BACKGROUND_JOBS
from services.feedback.models import metadata, tables
from services.feedback.settings import FeedbackSettings
from shared.http.problems import problem_response
from shared.service import ServiceDefinition, create_service_app

DEFINITION = ServiceDefinition(
    name="feedback",
    title="Feedback service",
    description="NPS/CSAT/CES surveys, invitations, responses, complaints with deadlines, and follow-ups.",
    metadata=metadata,
    tables=tables,
    migrations=Path(__file__).parent / "migrations",
    # The public survey pages first: answering a link is the busiest route, and routes match in order.
    routers=(api_public.router, api_surveys.router, api.router, api_analytics.router),
    subscriptions=subscriptions,  # type: ignore[arg-type]
    produces=("complaint-opened", "complaint-resolved", "feedback-received", "survey-invited"),
    background_jobs=BACKGROUND_JOBS,
)


async def _on_feedback_error(request: Request, exc: FeedbackError) -> JSONResponse:
    extensions = {"errors": exc.errors} if exc.errors else {}
    return problem_response(exc.status, exc.detail, instance=request.url.path, **extensions)


def create_app(settings: FeedbackSettings | None = None) -> FastAPI:
    app = create_service_app(DEFINITION, settings or FeedbackSettings())
    app.add_exception_handler(FeedbackError, _on_feedback_error)  # type: ignore[arg-type]
    app.state.survey_definitions = Definitions()
    app.state.answer_batcher = None
    return app
