"""Routes for survey definitions, invitations and responses from authenticated channels."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi import Response as HttpResponse

from services.feedback import handlers_invitations as invitations
from services.feedback import handlers_responses as responses
from services.feedback import handlers_surveys as surveys
from services.feedback.deps import DefinitionsDep, SettingsDep
from services.feedback.errors import not_found
from services.feedback.models import Invitation, Survey, SurveyVersion
from services.feedback.schemas import (
    InvitationCreate,
    InvitationRead,
    InvitationsCreated,
    InvitedRead,
    ResponseCreate,
    ResponseRead,
    SkippedRead,
    SurveyCreate,
    SurveyRead,
    SurveyUpdate,
)
from shared.db import utcnow
from shared.http.auth import require
from shared.http.idempotency import IdempotencyDep
from shared.http.pagination import Page, PageDep, encode_cursor
from shared.service import UowDep

router = APIRouter(tags=["surveys"])
READ = [Depends(require("feedback:read"))]
WRITE = [Depends(require("feedback:write"))]
SurveyIdPath = Annotated[str, Path(max_length=64)]


def survey_read(survey: Survey, version: SurveyVersion) -> SurveyRead:
    return SurveyRead(survey_id=survey.survey_id, name=survey.name, status=survey.status, kind=version.kind,
                      version=version.version, current_version=survey.current_version,
                      definition=version.definition, created_at=survey.created_at, updated_at=survey.updated_at)


@router.post("/surveys", status_code=201, response_model=SurveyRead, dependencies=WRITE)
async def create_survey(body: SurveyCreate, uow: UowDep, idempotency: IdempotencyDep) -> HttpResponse:
    """Define a survey; its first version is 1."""
    async with uow:
        async def create() -> tuple[int, SurveyRead]:
            survey, version = await surveys.create_survey(uow, survey_id=body.survey_id, name=body.name,
                                                          definition=body.definition)
            return 201, survey_read(survey, version)
        return await idempotency.run(uow, create)


@router.get("/surveys", response_model=Page[SurveyRead], dependencies=READ)
async def list_surveys(uow: UowDep, page: PageDep,
                       status: Literal["active", "archived"] | None = None) -> Page[SurveyRead]:
    """Surveys in id order, with their current version."""
    after = str(page.after[0]) if page.after else None
    async with uow:
        found = await surveys.list_surveys(uow, limit=page.limit, after=after, status=status)
        items = [survey_read(s, await surveys.survey_version(uow, s.survey_id, s.current_version))
                 for s in found[:page.limit]]
    more = len(found) > page.limit
    return Page(items=items, next_cursor=encode_cursor([items[-1].survey_id]) if more else None)


@router.get("/surveys/{survey_id}", response_model=SurveyRead, dependencies=READ)
async def get_survey(survey_id: SurveyIdPath, uow: UowDep) -> SurveyRead:
    """A survey with its current definition."""
    async with uow:
        return survey_read(*await surveys.survey_with_version(uow, survey_id))


@router.get("/surveys/{survey_id}/versions/{version}", response_model=SurveyRead, dependencies=READ)
async def get_survey_version(survey_id: SurveyIdPath, version: Annotated[int, Path(ge=1)], uow: UowDep) -> SurveyRead:
    """One version of a survey's definition, as responses to it answered it."""
    async with uow:
        return survey_read(*await surveys.survey_with_version(uow, survey_id, version))


@router.put("/surveys/{survey_id}", response_model=SurveyRead, dependencies=WRITE)
async def revise_survey(survey_id: SurveyIdPath, body: SurveyUpdate, uow: UowDep) -> SurveyRead:
    """Rename a survey, or give it a new definition (the next version)."""
    async with uow:
        survey, version = await surveys.revise_survey(uow, survey_id, name=body.name, definition=body.definition)
        await uow.commit()
        return survey_read(survey, version)


@router.delete("/surveys/{survey_id}", response_model=SurveyRead, dependencies=WRITE)
async def archive_survey(survey_id: SurveyIdPath, uow: UowDep) -> SurveyRead:
    """Archive a survey: no new invitations; its responses and open links stay."""
    async with uow:
        survey = await surveys.archive_survey(uow, survey_id)
        version = await surveys.survey_version(uow, survey_id, survey.current_version)
        await uow.commit()
        return survey_read(survey, version)


@router.post("/invitations", status_code=201, response_model=InvitationsCreated, dependencies=WRITE,
             responses={404: {"description": "No such survey"}})
async def invite(body: InvitationCreate, uow: UowDep, idempotency: IdempotencyDep,
                 settings: SettingsDep) -> HttpResponse:
    """Invite customers to a survey; those surveyed within the cooldown are skipped and listed."""
    async with uow:
        async def send() -> tuple[int, InvitationsCreated]:
            outcome = await invitations.invite(uow, settings, invitations.InviteRequest(
                survey_id=body.survey_id, customer_ids=body.customer_ids, locale=body.locale, channel=body.channel,
                priority=body.priority, bypass_cooldown=body.bypass_cooldown), now=utcnow())
            return 201, InvitationsCreated(
                invited=[InvitedRead(invitation_id=i.invitation_id, customer_id=i.customer_id, url=url,
                                     expires_at=i.expires_at) for i, url in outcome.invited],
                skipped=[SkippedRead(customer_id=c, reason=r) for c, r in outcome.skipped])
        return await idempotency.run(uow, send)


@router.get("/invitations/{invitation_id}", response_model=InvitationRead, dependencies=READ)
async def get_invitation(invitation_id: Annotated[str, Path(max_length=64)], uow: UowDep) -> InvitationRead:
    """One invitation and whether it was answered."""
    async with uow:
        invitation = await uow.session.get(Invitation, invitation_id)
    if invitation is None:
        raise not_found(f"invitation {invitation_id}")
    return InvitationRead.model_validate(invitation)


@router.post("/responses", status_code=201, response_model=ResponseRead, dependencies=WRITE,
             responses={404: {"description": "No such survey"}})
async def record_response(body: ResponseCreate, uow: UowDep, idempotency: IdempotencyDep,
                          settings: SettingsDep, definitions: DefinitionsDep) -> HttpResponse:
    """Record a response collected on another channel; validated like a response through a link."""
    async with uow:
        async def record() -> tuple[int, ResponseRead]:
            response = await responses.record_response(
                uow, settings, definitions, customer_id=body.customer_id, survey_id=body.survey_id, version=body.version,
                answers=body.answers, channel=body.channel, responded_at=body.responded_at or utcnow())
            return 201, ResponseRead.model_validate(response)
        return await idempotency.run(uow, record)


@router.get("/responses", response_model=Page[ResponseRead], dependencies=READ)
async def list_responses(uow: UowDep, page: PageDep, customer_id: Annotated[str | None, Query(max_length=64)] = None,
                         survey_id: Annotated[str | None, Query(max_length=64)] = None) -> Page[ResponseRead]:
    """Responses in id order."""
    after = str(page.after[0]) if page.after else None
    async with uow:
        found = await responses.list_responses(uow, limit=page.limit, after=after, customer_id=customer_id,
                                               survey_id=survey_id)
    items = [ResponseRead.model_validate(r) for r in found[:page.limit]]
    more = len(found) > page.limit
    return Page(items=items, next_cursor=encode_cursor([items[-1].response_id]) if more else None)


@router.get("/responses/{response_id}", response_model=ResponseRead, dependencies=READ)
async def get_response(response_id: Annotated[str, Path(max_length=64)], uow: UowDep) -> ResponseRead:
    """One response."""
    async with uow:
        return ResponseRead.model_validate(await responses.get_response(uow, response_id))
