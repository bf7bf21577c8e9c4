"""Use cases of responses: answers through a signed link or from another channel, validated against the
survey version they answer, analysed, stored, published, and routed to a case when they must be."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import bindparam, insert, select, update

from services.feedback import domain, tokens
from services.feedback.errors import FeedbackError, conflict, invalid, not_found
from services.feedback.handlers import open_complaint
from services.feedback.handlers_surveys import Definitions, survey_version
from services.feedback.models import (
    CustomerStanding,
    Invitation,
    Response,
    ResponseScore,
    ResponseTheme,
    Survey,
    SurveyVersion,
)
from services.feedback.new_responses import NewResponse, new_response
from services.feedback.settings import FeedbackSettings
from services.feedback.surveys import SurveyDefinition, validate_answers
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
class OpenedInvitation:
    """An invitation as answering needs it, with what feedback knows of its customer."""

    invitation_id: str
    customer_id: str
    survey_id: str
    version: int
    channel: str | None
    status: str
    tier: str | None
    churn_risk: str | None
    stage: str | None


# Built once: a statement object keeps its cache key, so each batch only binds its ids (Core tables, not
# the ORM entities, so the claim skips the ORM's bulk-update bookkeeping).
_INVITATIONS, _STANDING = Invitation.__table__, CustomerStanding.__table__
_INVITATIONS_TO_ANSWER = (
    select(_INVITATIONS.c.invitation_id, _INVITATIONS.c.customer_id, _INVITATIONS.c.survey_id,
           _INVITATIONS.c.version, _INVITATIONS.c.channel, _INVITATIONS.c.status, _STANDING.c.tier,
           _STANDING.c.churn_risk, _STANDING.c.stage)
    .select_from(_INVITATIONS.outerjoin(_STANDING, _STANDING.c.customer_id == _INVITATIONS.c.customer_id))
    .where(_INVITATIONS.c.invitation_id.in_(bindparam("invitation_ids", expanding=True))))
_CLAIM_INVITATIONS = (
    update(_INVITATIONS)
    .where(_INVITATIONS.c.invitation_id.in_(bindparam("invitation_ids", expanding=True)),
           _INVITATIONS.c.status == "sent")
    .values(status="responded", responded_at=bindparam("now"))
    .returning(_INVITATIONS.c.invitation_id))
_INSERT_RESPONSES = insert(Response.__table__)
_INSERT_THEMES = insert(ResponseTheme.__table__)
_INSERT_SCORES = insert(ResponseScore.__table__)


def _id_list(invitation_ids: list[str]) -> list[str]:
    """Distinct ids, padded to the next power of two by repeating one: each IN list length is a statement
    of its own for the server and the driver's prepared-statement cache, and a batch can be any size."""
    distinct = list(dict.fromkeys(invitation_ids))
    size = 1 << (len(distinct) - 1).bit_length()
    return distinct + distinct[-1:] * (size - len(distinct))


async def invitations_to_answer(uow: UnitOfWork, invitation_ids: list[str]) -> dict[str, OpenedInvitation]:
    """The invitations among `invitation_ids` that exist, with their customers' standing, in one query."""
    if not invitation_ids:
        return {}
    rows = await uow.session.execute(_INVITATIONS_TO_ANSWER, {"invitation_ids": _id_list(invitation_ids)})
    return {row.invitation_id: OpenedInvitation(*row) for row in rows}


def answer_invitation(settings: FeedbackSettings, definition: SurveyDefinition, invitation: OpenedInvitation | None,
                      answers: dict[str, Any], *, at: datetime) -> NewResponse:
    """The response answers to an open invitation make; refused (nothing built) when the invitation is
    gone or used, or when its survey version does not accept the answers."""
    if invitation is None:
        raise link_gone()
    if invitation.status != "sent":
        raise already_answered()
    _check(definition, answers, settings)
    return new_response(definition, answers, survey_id=invitation.survey_id, version=invitation.version,
                        customer_id=invitation.customer_id, invitation_id=invitation.invitation_id,
                        channel=invitation.channel or "web", responded_at=at, tier=invitation.tier)


async def claim_invitations(uow: UnitOfWork, invitation_ids: list[str], *, now: datetime) -> set[str]:
    """Mark invitations answered. Only those still open come back, so each is claimed once, however
    many requests race for it."""
    if not invitation_ids:
        return set()
    claimed = await uow.session.execute(_CLAIM_INVITATIONS, {"invitation_ids": _id_list(invitation_ids), "now": now})
    return {row[0] for row in claimed}


def already_answered() -> FeedbackError:
    return conflict("this survey has already been answered", "path.token")


def link_gone() -> FeedbackError:
    return FeedbackError(404, "this survey link is no longer valid",
                         [{"field": "path.token", "message": "no such invitation"}])


async def store_responses(uow: UnitOfWork, responses: list[NewResponse]) -> None:
    """Insert responses with their themes and scores: one statement per table, however many."""
    for statement, rows in ((_INSERT_RESPONSES, [r.response for r in responses]),
                            (_INSERT_THEMES, [row for r in responses for row in r.themes]),
                            (_INSERT_SCORES, [row for r in responses for row in r.scores])):
        if rows:
            await uow.session.execute(statement, rows)


async def announce(uow: UnitOfWork, settings: FeedbackSettings, response: NewResponse, *, tier: str | None,
                   churn_risk: str | None, stage: str | None) -> None:
    """Publish a stored response and, for a detractor who is high-value or at risk, open a case at once."""
    uow.record(response.event)
    event = response.event
    if not domain.needs_follow_up_case(event.kind, event.score, tier=tier, churn_risk=churn_risk, stage=stage):
        return
    comment = f": {event.comment}" if event.comment else ""
    await open_complaint(uow, settings, customer_id=response.customer_id, severity=domain.follow_up_severity(tier),
                         category="detractor-follow-up", response_id=response.response_id,
                         description=f"NPS {event.score} from a {tier or churn_risk or stage} customer{comment}"[:5000])


async def _refuse_closed(uow: UnitOfWork, invitation_id: str) -> NoReturn:
    """Why a link opens nothing: its invitation is gone (erased) or already answered."""
    if await uow.session.get(Invitation, invitation_id) is None:
        raise link_gone()
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
    tier, churn_risk, stage = (standing.tier, standing.churn_risk, standing.stage) if standing else (None,) * 3
    built = new_response(definition, answers, survey_id=survey_id, version=number, customer_id=customer_id,
                         invitation_id=None, channel=channel, responded_at=responded_at, tier=tier)
    await store_responses(uow, [built])
    await announce(uow, settings, built, tier=tier, churn_risk=churn_risk, stage=stage)
    return Response(**built.response)


def _check(definition: SurveyDefinition, answers: dict[str, Any], settings: FeedbackSettings) -> None:
    errors = validate_answers(definition, answers, max_comment_chars=settings.max_comment_chars)
    if errors:
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:10])
        raise invalid(f"invalid answers: {detail}", [{"field": f"body.{e.field}", "message": e.message}
                                                     for e in errors])


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
