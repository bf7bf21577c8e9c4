"""The public survey pages: a signed link is the only credential, no API key."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from services.feedback import handlers_responses as responses
from services.feedback.deps import SettingsDep, answer_batcher
from services.feedback.schemas import AnswersSubmit, ThankYou
from services.feedback.surveys import SurveyDefinition, localised, pick_locale
from shared.db import utcnow
from shared.service import UowDep

router = APIRouter(tags=["public survey pages"])
TokenPath = Annotated[str, Path(min_length=1, max_length=512, description="The token of the invitation link")]


@router.get("/s/{token}", responses={403: {"description": "The link is not valid"}})
async def show_survey(token: TokenPath, uow: UowDep, settings: SettingsDep,
                      locale: Annotated[str | None, Query(max_length=35)] = None) -> dict[str, Any]:
    """The survey behind a link, in the invitation's locale (or `locale`), ready to render."""
    async with uow:
        invitation, survey, version = await responses.invitation_for(uow, settings, token, utcnow())
    definition = SurveyDefinition.model_validate(version.definition)
    wanted = locale or invitation.locale
    texts = {loc for question in definition.questions for loc in question.text}
    return {"survey_id": survey.survey_id, "name": survey.name, "version": version.version, "kind": version.kind,
            "locale": pick_locale(texts, wanted, definition.default_locale),
            "expires_at": invitation.expires_at, **localised(definition, wanted)}


@router.post("/s/{token}", status_code=201, response_model=ThankYou,
             responses={403: {"description": "The link is not valid"}})
async def submit_answers(token: TokenPath, body: AnswersSubmit, request: Request) -> Response:
    """Answer the survey behind a link, once; nothing is stored unless every answer is valid."""
    batcher = answer_batcher(request)
    now = utcnow()
    invitation_id = responses.invitation_id_of(batcher.settings, token, now)
    thanks = ThankYou(response_id=await batcher.submit(invitation_id, body.answers, at=now))
    # Serialised here rather than validated again against the response model: this is the hot path.
    return Response(thanks.model_dump_json(), status_code=201, media_type="application/json")
