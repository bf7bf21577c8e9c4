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


async def answer_batcher(request: Request) -> AnswerBatcher:
    state = request.app.state
    if getattr(state, "answer_batcher", None) is None:  # the unit of work exists once the lifespan ran
        state.answer_batcher = AnswerBatcher(state.unit_of_work, state.settings, state.survey_definitions)
    return state.answer_batcher  # type: ignore[no-any-return]


AnswerBatcherDep = Annotated[AnswerBatcher, Depends(answer_batcher)]
