"""Dependencies feedback's routes share. They are coroutines because FastAPI runs a plain function
dependency in its thread pool, a thread hop per request for a dictionary lookup."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.feedback.batching import AnswerBatcher
from services.feedback.handlers_surveys import Definitions
from services.feedback.settings import FeedbackSettings


async def feedback_settings(request: Request) -> FeedbackSettings:
    return request.app.state.settings  # type: ignore[no-any-return]


SettingsDep = Annotated[FeedbackSettings, Depends(feedback_settings)]


async def survey_definitions(request: Request) -> Definitions:
    return request.app.state.survey_definitions  # type: ignore[no-any-return]


DefinitionsDep = Annotated[Definitions, Depends(survey_definitions)]


def answer_batcher(request: Request) -> AnswerBatcher:
    """Called directly by the public answer route, the hottest path, rather than through Depends: each
    dependency costs FastAPI a resolution pass over the request."""
    state = request.app.state
    if getattr(state, "answer_batcher", None) is None:  # the unit of work exists once the lifespan ran
        settings = state.settings
        # SQLite has one writer: a second transaction in flight would only wait for the lock.
        in_flight = 1 if settings.database_url.startswith("sqlite") else settings.answer_batches_in_flight
        state.answer_batcher = AnswerBatcher(state.unit_of_work, settings, state.survey_definitions,
                                             max_batch=settings.answer_batch_max, in_flight=in_flight)
    return state.answer_batcher  # type: ignore[no-any-return]
