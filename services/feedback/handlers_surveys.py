"""Use cases of survey definitions: create, revise (a new version), archive, read."""
from __future__ import annotations

import uuid
from collections import OrderedDict
from datetime import datetime

from sqlalchemy import select

from services.feedback.errors import conflict, not_found
from services.feedback.models import Survey, SurveyVersion
from services.feedback.surveys import SurveyDefinition
from shared.db import utcnow
from shared.uow import UnitOfWork


async def create_survey(uow: UnitOfWork, *, name: str, definition: SurveyDefinition,
                        survey_id: str | None = None) -> tuple[Survey, SurveyVersion]:
    survey_id = survey_id or f"srv-{uuid.uuid4().hex[:12]}"
    if await uow.session.get(Survey, survey_id) is not None:
        raise conflict(f"survey {survey_id} already exists", "body.survey_id")
    now = utcnow()
    survey = Survey(survey_id=survey_id, name=name, status="active", current_version=1, created_at=now,
                    updated_at=now)
    version = _version(survey_id, 1, definition, now)
    uow.session.add_all([survey, version])
    await uow.session.flush()
    return survey, version


async def revise_survey(uow: UnitOfWork, survey_id: str, *, name: str | None,
                        definition: SurveyDefinition | None) -> tuple[Survey, SurveyVersion]:
    """Renaming keeps the version; a new definition becomes the next version. Old versions stay."""
    survey = await _survey(uow, survey_id)
    now = utcnow()
    if name is not None:
        survey.name = name
    if definition is not None:
        survey.current_version += 1
        uow.session.add(_version(survey_id, survey.current_version, definition, now))
    survey.updated_at = now
    await uow.session.flush()
    return survey, await survey_version(uow, survey_id, survey.current_version)


async def archive_survey(uow: UnitOfWork, survey_id: str) -> Survey:
    """An archived survey sends no new invitations; links already sent still work."""
    survey = await _survey(uow, survey_id)
    survey.status = "archived"
    survey.updated_at = utcnow()
    return survey


async def survey_with_version(uow: UnitOfWork, survey_id: str,
                              version: int | None = None) -> tuple[Survey, SurveyVersion]:
    survey = await _survey(uow, survey_id)
    return survey, await survey_version(uow, survey_id, version or survey.current_version)


async def survey_version(uow: UnitOfWork, survey_id: str, version: int) -> SurveyVersion:
    found = await uow.session.get(SurveyVersion, (survey_id, version))
    if found is None:
        raise not_found(f"version {version} of survey {survey_id}")
    return found


async def list_surveys(uow: UnitOfWork, *, limit: int, after: str | None,
                       status: str | None) -> list[Survey]:
    query = select(Survey).order_by(Survey.survey_id).limit(limit + 1)
    if after is not None:
        query = query.where(Survey.survey_id > after)
    if status is not None:
        query = query.where(Survey.status == status)
    return list((await uow.session.scalars(query)).all())


async def _survey(uow: UnitOfWork, survey_id: str) -> Survey:
    survey = await uow.session.get(Survey, survey_id)
    if survey is None:
        raise not_found(f"survey {survey_id}")
    return survey


def _version(survey_id: str, number: int, definition: SurveyDefinition, now: datetime) -> SurveyVersion:
    return SurveyVersion(survey_id=survey_id, version=number, kind=definition.kind,
                         definition=definition.model_dump(mode="json", exclude_none=True), created_at=now)


class Definitions:
    """Parsed survey versions. A version never changes once written, so each replica keeps the ones it
    has read rather than reading and validating them again for every response."""

    def __init__(self, capacity: int = 1000):
        self._parsed: OrderedDict[tuple[str, int], SurveyDefinition] = OrderedDict()
        self._capacity = capacity

    async def get(self, uow: UnitOfWork, survey_id: str, version: int) -> SurveyDefinition:
        key = (survey_id, version)
        definition = self._parsed.get(key)
        if definition is None:
            stored = await survey_version(uow, survey_id, version)
            definition = SurveyDefinition.model_validate(stored.definition)
            self._parsed[key] = definition
            if len(self._parsed) > self._capacity:
                self._parsed.popitem(last=False)
        return definition
