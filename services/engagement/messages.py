"""Outreach messages: queue one (over HTTP or for a survey invitation), log its steps, describe outcomes."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select

from services.engagement.models import Message, MessageLog, Template
from services.engagement.rendering import RenderError, check_syntax
from shared.db import dialect_insert
from shared.events.catalogue import (
    OutreachFailedV1,
    OutreachSentV1,
    OutreachSuppressedV1,
)
from shared.events.envelope import EventData
from shared.uow import UnitOfWork

QUEUED, SENDING, SENT, SUPPRESSED, FAILED = "queued", "sending", "sent", "suppressed", "failed"


class InvalidMessage(Exception):
    def __init__(self, detail: str, field: str):
        super().__init__(detail)
        self.detail = detail
        self.field = field


@dataclass(frozen=True)
class QueueMessage:
    """Command: deliver this message to the customer at `send_at` (now when null), under the policy."""

    message_id: str
    customer_id: str
    channel: str  # a channel, or "preferred"
    priority: str
    template_id: str | None = None
    subject: str | None = None
    body: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    send_at: datetime | None = None
    expires_at: datetime | None = None
    campaign_id: str | None = None
    journey_id: str | None = None
    invitation_id: str | None = None


async def queue_message(uow: UnitOfWork, command: QueueMessage, now: datetime) -> tuple[Message, bool]:
    """Store the message for the dispatcher; the same message_id queued twice is stored once."""
    await _validate(uow, command)
    values = {
        "message_id": command.message_id, "customer_id": command.customer_id,
        "requested_channel": command.channel, "priority": command.priority, "template_id": command.template_id,
        "subject": command.subject, "body": command.body, "variables": command.variables,
        "campaign_id": command.campaign_id, "journey_id": command.journey_id,
        "invitation_id": command.invitation_id, "status": QUEUED, "due_at": command.send_at or now,
        "expires_at": command.expires_at, "attempts": 0, "created_at": now,
    }
    result = await uow.session.execute(
        dialect_insert(uow.session.bind.dialect.name, Message.__table__).values(**values).on_conflict_do_nothing())
    created = bool(result.rowcount)
    if created:
        add_log(uow, command.message_id, "queued", None, now)
    message = await uow.session.get(Message, command.message_id, populate_existing=True)
    assert message is not None
    return message, created


async def _validate(uow: UnitOfWork, command: QueueMessage) -> None:
    await check_content(uow, command.template_id, command.subject, command.body)


async def check_content(uow: UnitOfWork, template_id: str | None, subject: str | None, body: str | None) -> None:
    """A message names a template that exists, or has a body; its text is valid template syntax."""
    if template_id is None and body is None:
        raise InvalidMessage("give either template_id or body", "body.body")
    if template_id is not None:
        exists = await uow.session.scalar(select(Template.template_id).where(
            Template.template_id == template_id).limit(1))
        if exists is None:
            raise InvalidMessage(f"template {template_id!r} does not exist", "body.template_id")
    for name, source in (("subject", subject), ("body", body)):
        if source is not None:
            try:
                check_syntax(source, name)
            except RenderError as exc:
                raise InvalidMessage(str(exc), f"body.{name}") from None


def add_log(uow: UnitOfWork, message_id: str, kind: str, reason: str | None, at: datetime) -> None:
    uow.session.add(MessageLog(message_id=message_id, kind=kind, reason=reason, at=at))


async def message_log(uow: UnitOfWork, message_id: str) -> list[MessageLog]:
    return list((await uow.session.scalars(select(MessageLog).where(MessageLog.message_id == message_id)
                                           .order_by(MessageLog.id))).all())


class MessageFacts(Protocol):
    """What an outcome event tells of a message: a `Message`, or a row of its columns."""

    message_id: str
    customer_id: str
    campaign_id: str | None
    journey_id: str | None
    invitation_id: str | None
    template_id: str | None
    channel: str | None


def outcome_event(message: MessageFacts, outcome: str, reason: str | None, *, retryable: bool = False) -> EventData:
    """outreach-sent, -suppressed or -failed for the message."""
    common: dict[str, Any] = dict(
        message_id=message.message_id, customer_id=message.customer_id, campaign_id=message.campaign_id,
        journey_id=message.journey_id, invitation_id=message.invitation_id, template_id=message.template_id,
        channel=message.channel or "email")
    if outcome == SENT:
        return OutreachSentV1(**common, reason=reason)
    if outcome == SUPPRESSED:
        return OutreachSuppressedV1(**common, reason=reason or "policy")
    return OutreachFailedV1(**common, reason=reason or "failed", retryable=retryable)


_REPORT_RANK = {"delivered": 1, "opened": 2, "clicked": 3, "bounced": 4}


async def record_delivery_report(uow: UnitOfWork, message_id: str, status: str, detail: str | None,
                                 at: datetime) -> Message | None:
    """Note what the provider reported; a bounce is published as outreach-failed. None: unknown message."""
    message = await uow.session.get(Message, message_id, populate_existing=True)
    if message is None:
        return None
    add_log(uow, message_id, status, detail, at)
    if _REPORT_RANK[status] > _REPORT_RANK.get(message.delivery_status or "", 0):
        message.delivery_status = status
        if status == "bounced":
            uow.record(outcome_event(message, FAILED, f"bounced: {detail}" if detail else "bounced"))
    return message
