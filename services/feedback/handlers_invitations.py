"""Use cases of invitations: invite customers now, schedule invitations for triggers, send due ones."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from services.feedback import tokens
from services.feedback.domain import may_invite
from services.feedback.errors import conflict, not_found
from services.feedback.models import Invitation, ScheduledInvitation, Survey
from services.feedback.settings import FeedbackSettings
from shared.db import dialect_insert
from shared.events.catalogue import SurveyInvitedV1
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class InviteRequest:
    survey_id: str
    customer_ids: list[str]
    trigger: str = "manual"
    locale: str | None = None
    channel: str | None = None
    priority: str = "normal"
    bypass_cooldown: bool = False


@dataclass
class InviteOutcome:
    invited: list[tuple[Invitation, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def survey_url(settings: FeedbackSettings, invitation: Invitation) -> str:
    token = tokens.sign(invitation.invitation_id, invitation.expires_at, settings.survey_token_key)
    return f"{settings.public_survey_base_url.rstrip('/')}/s/{token}"


async def invite(uow: UnitOfWork, settings: FeedbackSettings, request: InviteRequest, *,
                 now: datetime, caused_by: object = None) -> InviteOutcome:
    """Invite each customer not surveyed within the cooldown; each gets a signed, expiring link."""
    survey = await uow.session.get(Survey, request.survey_id)
    if survey is None:
        raise not_found(f"survey {request.survey_id}")
    if survey.status != "active":
        raise conflict(f"survey {request.survey_id} is {survey.status}; it sends no invitations", "body.survey_id")
    last_invited = {} if request.bypass_cooldown else await _last_invited(uow, request.customer_ids)
    outcome = InviteOutcome()
    for customer_id in dict.fromkeys(request.customer_ids):
        if not may_invite(last_invited.get(customer_id), now, settings.survey_cooldown_days):
            outcome.skipped.append((customer_id, "cooldown"))
            continue
        invitation = _new_invitation(survey, customer_id, request, now, settings)
        uow.session.add(invitation)
        url = survey_url(settings, invitation)
        uow.record(SurveyInvitedV1(invitation_id=invitation.invitation_id, customer_id=customer_id,  # type: ignore[arg-type]
                                   survey_id=survey.survey_id, survey_name=survey.name, url=url,
                                   expires_at=invitation.expires_at, priority=request.priority,
                                   channel=request.channel, locale=request.locale), caused_by=caused_by)
        outcome.invited.append((invitation, url))
    await uow.session.flush()
    return outcome


def _new_invitation(survey: Survey, customer_id: str, request: InviteRequest, now: datetime,
                    settings: FeedbackSettings) -> Invitation:
    return Invitation(invitation_id=f"inv-{uuid.uuid4().hex[:16]}", customer_id=customer_id,
                      survey_id=survey.survey_id, version=survey.current_version, locale=request.locale,
                      channel=request.channel, trigger=request.trigger, status="sent", created_at=now,
                      expires_at=now + timedelta(days=settings.invitation_ttl_days), responded_at=None)


async def _last_invited(uow: UnitOfWork, customer_ids: list[str]) -> dict[str, datetime]:
    rows = await uow.session.execute(
        select(Invitation.customer_id, func.max(Invitation.created_at))
        .where(Invitation.customer_id.in_(customer_ids)).group_by(Invitation.customer_id))
    return {customer_id: _aware(last) for customer_id, last in rows.all()}


def _aware(value: datetime) -> datetime:
    # func.max() bypasses the column type on SQLite, which hands back a naive UTC value or a string.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def schedule_invitation(uow: UnitOfWork, *, customer_id: str, trigger: str, trigger_key: str,
                              survey_id: str, due_at: datetime, now: datetime,
                              bypass_cooldown: bool = False) -> None:
    """Ask for an invitation later; a trigger that fires twice schedules it once."""
    insert = dialect_insert(uow.session.bind.dialect.name, ScheduledInvitation.__table__)
    await uow.session.execute(insert.values(
        customer_id=customer_id, trigger_key=trigger_key, trigger=trigger, survey_id=survey_id, status="pending",
        due_at=due_at, bypass_cooldown=bypass_cooldown, created_at=now).on_conflict_do_nothing())


async def send_due_invitations(uow: UnitOfWork, settings: FeedbackSettings, *, now: datetime,
                               limit: int = 500) -> int:
    """Send the scheduled invitations that are due; those the cooldown or an archived survey stops
    are marked skipped rather than retried forever."""
    due = (await uow.session.scalars(
        select(ScheduledInvitation).where(ScheduledInvitation.status == "pending", ScheduledInvitation.due_at <= now)
        .order_by(ScheduledInvitation.due_at).limit(limit))).all()
    for scheduled in due:
        scheduled.status = await _send_one(uow, settings, scheduled, now)
    return len(due)


async def _send_one(uow: UnitOfWork, settings: FeedbackSettings, scheduled: ScheduledInvitation,
                    now: datetime) -> str:
    survey = await uow.session.get(Survey, scheduled.survey_id)
    if survey is None or survey.status != "active":
        return "skipped"
    outcome = await invite(uow, settings, InviteRequest(
        survey_id=scheduled.survey_id, customer_ids=[scheduled.customer_id], trigger=scheduled.trigger,
        bypass_cooldown=scheduled.bypass_cooldown), now=now)
    return "sent" if outcome.invited else "skipped"
