"""Use cases of responses: answers through a signed link or from another channel, validated against the
survey version they answer, analysed, stored, published, and routed to a case when they must be."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import select, update

from services.feedback import domain, text, tokens
from services.feedback.errors import FeedbackError, conflict, invalid, not_found
from services.feedback.handlers import open_complaint
from services.feedback.handlers_surveys import Definitions, survey_version
from services.feedback.models import (
    CustomerStanding,
    Invitation,
    Response,
    ResponseTheme,
    Survey,
    SurveyVersion,
)
from services.feedback.settings import FeedbackSettings
from services.feedback.surveys import SurveyDefinition, scored, validate_answers
from shared.events.catalogue import FeedbackReceivedV1
from shared.uow import UnitOfWork


def invitation_id_of(settings: FeedbackSettings, token: str, now: datetime) -> str:
    """The invitation a link was signed for; refused when forged (403) or expired (410)."""
    try:
        return tokens.verify(token, settings.survey_token_key, now)
    except tokens.TokenRefused as exc:
        raise FeedbackError(exc.status, exc.reason, [{"field": "path.token", "message": exc.reason}]) from None


async def invitation_for(uow: UnitOfWork, settings: FeedbackSettings, token: str,
                         now: datetime) -> tuple[Invitation, Survey, SurveyVersion]:
    """The open invitation a link stands for; refused when forged, expired, unknown or already used."""
    invitation_id = invitation_id_of(settings, token, now)
    invitation = await uow.session.get(Invitation, invitation_id)
    if invitation is None or invitation.status != "sent":
        await _refuse_closed(uow, invitation_id)
    survey = await uow.session.get(Survey, invitation.survey_id)  # type: ignore[union-attr]
    version = await survey_version(uow, invitation.survey_id, invitation.version)  # type: ignore[union-attr]
    return invitation, survey, version  # type: ignore[return-value]


@dataclass(frozen=True)
class CheckedAnswer:
    """Answers found valid for an open invitation, not yet stored."""

    invitation: Invitation
    definition: SurveyDefinition
    answers: dict[str, Any]


async def check_answer(uow: UnitOfWork, settings: FeedbackSettings, definitions: Definitions,
                       invitation_id: str, answers: dict[str, Any]) -> CheckedAnswer:
    """Refuse answers to a closed invitation or that its survey version does not accept; writes nothing,
    so answers to several invitations can share one transaction (batching.py)."""
    invitation = await uow.session.get(Invitation, invitation_id)
    if invitation is None or invitation.status != "sent":
        await _refuse_closed(uow, invitation_id)
    definition = await definitions.get(uow, invitation.survey_id, invitation.version)  # type: ignore[union-attr]
    _check(definition, answers, settings)
    return CheckedAnswer(invitation, definition, answers)  # type: ignore[arg-type]


async def claim_invitations(uow: UnitOfWork, invitation_ids: list[str], *, now: datetime) -> set[str]:
    """Mark invitations answered. Only those still open come back, so each is claimed once, however
    many requests race for it."""
    if not invitation_ids:
        return set()
    claimed = await uow.session.execute(
        update(Invitation.__table__)
        .where(Invitation.invitation_id.in_(set(invitation_ids)), Invitation.status == "sent")
        .values(status="responded", responded_at=now).returning(Invitation.invitation_id))
    return {row[0] for row in claimed}


def already_answered() -> FeedbackError:
    return conflict("this survey has already been answered", "path.token")


async def store_answer(uow: UnitOfWork, settings: FeedbackSettings, checked: CheckedAnswer, *,
                       standing: CustomerStanding | None, at: datetime) -> Response:
    invitation = checked.invitation
    return await _store(uow, settings, checked.definition, checked.answers, survey_id=invitation.survey_id,
                        version=invitation.version, customer_id=invitation.customer_id,
                        invitation_id=invitation.invitation_id, channel=invitation.channel or "web",
                        responded_at=at, standing=standing)


async def _refuse_closed(uow: UnitOfWork, invitation_id: str) -> NoReturn:
    """Why a link opens nothing: its invitation is gone (erased) or already answered."""
    if await uow.session.get(Invitation, invitation_id) is None:
        raise FeedbackError(404, "this survey link is no longer valid",
                            [{"field": "path.token", "message": "no such invitation"}])
    raise already_answered()


async def record_response(uow: UnitOfWork, settings: FeedbackSettings, definitions: Definitions, *,
                          customer_id: str, survey_id: str, version: int | None, answers: dict[str, Any],
                          channel: str, responded_at: datetime) -> Response:
    """A response collected elsewhere (phone, store, another tool), sent in over the authenticated API."""
    survey = await uow.session.get(Survey, survey_id)
    if survey is None:
        raise not_found(f"survey {survey_id}")
    number = version or survey.current_version
    definition = await definitions.get(uow, survey_id, number)
    _check(definition, answers, settings)
    standing = await uow.session.get(CustomerStanding, customer_id)
    return await _store(uow, settings, definition, answers, survey_id=survey_id, version=number,
                        customer_id=customer_id, invitation_id=None, channel=channel, responded_at=responded_at,
                        standing=standing)


def _check(definition: SurveyDefinition, answers: dict[str, Any], settings: FeedbackSettings) -> None:
    errors = validate_answers(definition, answers, max_comment_chars=settings.max_comment_chars)
    if errors:
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:10])
        raise invalid(f"invalid answers: {detail}", [{"field": f"body.{e.field}", "message": e.message}
                                                     for e in errors])


async def _store(uow: UnitOfWork, settings: FeedbackSettings, definition: SurveyDefinition,
                 answers: dict[str, Any], *, survey_id: str, version: int, customer_id: str,
                 invitation_id: str | None, channel: str, responded_at: datetime,
                 standing: CustomerStanding | None) -> Response:
    result = scored(definition, answers)
    insight = text.analyse(result.comment) if result.comment else None
    response = Response(
        response_id=f"rsp-{uuid.uuid4().hex[:16]}", customer_id=customer_id, survey_id=survey_id,
        version=version, invitation_id=invitation_id, channel=channel, kind=result.kind,
        score=result.score, comment=result.comment, sentiment=insight.sentiment if insight else None,
        themes=list(insight.themes) if insight else [], answers=answers,
        tier=standing.tier if standing else None, responded_at=responded_at)
    uow.session.add(response)
    uow.session.add_all(ResponseTheme(response_id=response.response_id, theme=theme, customer_id=customer_id,
                                      responded_at=responded_at) for theme in response.themes)
    uow.record(FeedbackReceivedV1(
        response_id=response.response_id, customer_id=customer_id, survey_id=survey_id,  # type: ignore[arg-type]
        invitation_id=invitation_id, kind=result.kind, score=result.score, comment=result.comment,
        sentiment=response.sentiment, themes=response.themes, responded_at=responded_at))
    await _close_the_loop(uow, settings, response, standing)
    return response


async def _close_the_loop(uow: UnitOfWork, settings: FeedbackSettings, response: Response,
                          standing: CustomerStanding | None) -> None:
    """A detractor who is high-value or at risk gets a follow-up case at once."""
    tier, risk, stage = (standing.tier, standing.churn_risk, standing.stage) if standing else (None, None, None)
    if not domain.needs_follow_up_case(response.kind, response.score, tier=tier, churn_risk=risk, stage=stage):
        return
    comment = f": {response.comment}" if response.comment else ""
    await open_complaint(uow, settings, customer_id=response.customer_id, severity=domain.follow_up_severity(tier),
                         category="detractor-follow-up", response_id=response.response_id,
                         description=f"NPS {response.score} from a {tier or risk or stage} customer{comment}"[:5000])


async def get_response(uow: UnitOfWork, response_id: str) -> Response:
    response = await uow.session.get(Response, response_id)
    if response is None:
        raise not_found(f"response {response_id}")
    return response


async def list_responses(uow: UnitOfWork, *, limit: int, after: str | None, customer_id: str | None,
                         survey_id: str | None) -> list[Response]:
    query = select(Response).order_by(Response.response_id).limit(limit + 1)
    if after is not None:
        query = query.where(Response.response_id > after)
    if customer_id is not None:
        query = query.where(Response.customer_id == customer_id)
    if survey_id is not None:
        query = query.where(Response.survey_id == survey_id)
    return list((await uow.session.scalars(query)).all())
