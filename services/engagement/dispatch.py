"""The dispatcher: leases due messages, decides under the contact policy, delivers, records the outcome.

Each replica runs one. A message is leased (`FOR UPDATE SKIP LOCKED` on PostgreSQL, a conditional
update everywhere) before anything is done with it, so one replica handles it at a time; a replica that
dies leaves a lease that expires and another replica takes the message up again. A message marked sent
is never delivered again, and adapters hand providers the message id to drop a repeat made just
before a crash.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import and_, case, func, or_, select, update

from services.engagement import contacts, projection
from services.engagement.channels import ChannelAdapter, DryRunChannel, Outgoing
from services.engagement.messages import FAILED, QUEUED, SENDING, SENT, SUPPRESSED, add_log, outcome_event
from services.engagement.models import Audience, Message, PointsEntry, Template
from services.engagement.policy import PRIORITIES, decide
from services.engagement.profile_client import ProfileClient, ProfileUnavailable
from services.engagement.rendering import RenderError, personalisation, pick_locale, render
from services.engagement.settings import EngagementSettings
from shared.db import utcnow
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)
_PRIORITY_RANK = case({p: rank for rank, p in enumerate(PRIORITIES)}, value=Message.priority, else_=len(PRIORITIES))


@dataclass(frozen=True)
class Delivery:
    """What the dispatcher decided to send, read in the deciding transaction."""

    message_id: str
    customer_id: str
    channel: str
    priority: str
    subject: str | None
    body: str
    tier: str | None
    points: int
    variables: dict[str, Any]


@dataclass(frozen=True)
class Result:
    outcome: str  # sent, suppressed, failed
    reason: str | None = None
    retryable: bool = False


class Dispatcher:
    def __init__(self, unit_of_work: Callable[[], UnitOfWork], settings: EngagementSettings,
                 profile: ProfileClient, channels: dict[str, ChannelAdapter],
                 clock: Callable[[], datetime] = utcnow, holder: str | None = None):
        self._uow = unit_of_work
        self._settings = settings
        self._profile = profile
        self._channels = channels
        self._clock = clock
        self.holder = holder or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"

    async def run_once(self) -> int:
        """Handle one batch of due messages; returns how many were leased."""
        claimed = await self.claim()
        slots = asyncio.Semaphore(self._settings.dispatch_concurrency)

        async def one(message_id: str) -> None:
            async with slots:
                try:
                    await self.process(message_id)
                except Exception:  # the lease runs out and the message is taken up again
                    log.exception("dispatching a message failed", extra={"message_id": message_id})

        await asyncio.gather(*(one(message_id) for message_id in claimed))
        return len(claimed)

    async def claim(self) -> list[str]:
        now = self._clock()
        due = or_(and_(Message.status == QUEUED, Message.due_at <= now),
                  and_(Message.status == SENDING, Message.lease_until < now))
        async with self._uow() as uow:
            candidates = (await uow.session.scalars(
                select(Message.message_id).where(due).order_by(_PRIORITY_RANK, Message.due_at)
                .limit(self._settings.dispatch_batch_size).with_for_update(skip_locked=True))).all()
            claimed = []
            for message_id in candidates:
                taken = await uow.session.execute(
                    update(Message).where(Message.message_id == message_id, due).values(
                        status=SENDING, lease_holder=self.holder, attempts=Message.attempts + 1,
                        lease_until=now + timedelta(seconds=self._settings.dispatch_lease_seconds)))
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(message_id)
            await uow.commit()
        return claimed

    async def process(self, message_id: str) -> None:
        delivery = await self._decide(message_id)
        if delivery is None:
            return
        result = await self._deliver(delivery)
        await self._finish(message_id, result)

    async def _decide(self, message_id: str) -> Delivery | None:
        async with self._uow() as uow:
            message = await self._leased(uow, message_id)
            if message is None:
                return None
            now = self._clock()
            if message.expires_at is not None and message.expires_at <= now:
                self._close(uow, message, SUPPRESSED, "expired", now)
                await uow.commit()
                return None
            if not await contacts.is_reserved(uow, message_id) and not await self._apply_policy(uow, message, now):
                await uow.commit()
                return None
            delivery = await self._prepare(uow, message)
            await uow.commit()
            return delivery

    async def _apply_policy(self, uow: UnitOfWork, message: Message, now: datetime) -> bool:
        """Decide under the customer's ledger lock; True when the contact was reserved for sending."""
        await contacts.lock_ledger(uow, message.customer_id)
        recipient = await projection.recipient(uow, message.customer_id)
        history = await contacts.recent_contacts(uow, message.customer_id, now)
        decision = decide(message.requested_channel, message.priority, recipient, history,
                          await contacts.load_policy(uow), now)
        message.channel = decision.channel
        if decision.outcome == "suppress":
            self._close(uow, message, SUPPRESSED, decision.reason, now)
            return False
        if decision.outcome == "defer":
            assert decision.until is not None
            if message.expires_at is not None and decision.until >= message.expires_at:
                self._close(uow, message, SUPPRESSED, f"{decision.reason}_until_expiry", now)
                return False
            message.status, message.due_at, message.lease_holder, message.lease_until = QUEUED, decision.until, None, None
            message.attempts -= 1  # waiting is not a delivery attempt
            add_log(uow, message.message_id, "deferred", f"{decision.reason} until {decision.until.isoformat()}", now)
            return False
        await contacts.reserve(uow, message_id=message.message_id, customer_id=message.customer_id,
                               channel=decision.channel, priority=message.priority, at=now)
        return True

    async def _prepare(self, uow: UnitOfWork, message: Message) -> Delivery:
        audience = await uow.session.get(Audience, message.customer_id)
        subject, body = message.subject, message.body or ""
        if message.template_id is not None:
            variants = {t.locale: t for t in (await uow.session.scalars(
                select(Template).where(Template.template_id == message.template_id))).all()}
            default = next((t.locale for t in variants.values() if t.is_default), None)
            chosen = pick_locale(list(variants), audience.locale if audience else None, default)
            if chosen is not None:
                subject, body = variants[chosen].subject, variants[chosen].body
        points = await uow.session.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0))
                                          .where(PointsEntry.customer_id == message.customer_id))
        return Delivery(message.message_id, message.customer_id, message.channel or "email", message.priority, subject, body,
                        audience.tier if audience else None, int(points or 0), dict(message.variables or {}))

    async def _deliver(self, delivery: Delivery) -> Result:
        try:
            contact = await self._profile.contact(delivery.customer_id)
        except ProfileUnavailable as exc:
            return Result(FAILED, str(exc), retryable=True)
        if contact.do_not_contact and delivery.priority != "transactional":
            return Result(SUPPRESSED, "do_not_contact")
        address = contact.address_for(delivery.channel)
        if not contact.found or address is None:
            return Result(SUPPRESSED, f"no_address:{delivery.channel}")
        context = personalisation(customer_id=delivery.customer_id, contact=contact.for_templates(),
                                  tier=delivery.tier, points=delivery.points, variables=delivery.variables)
        try:
            content = render(delivery.subject, delivery.body, context)
        except RenderError as exc:
            return Result(FAILED, f"template_error: {exc}")
        adapter = self._channels.get(delivery.channel, DryRunChannel())
        outcome = await adapter.deliver(Outgoing(delivery.message_id, delivery.customer_id, delivery.channel,
                                                 address, content.subject, content.body))
        if outcome.delivered:
            return Result(SENT, outcome.reason)
        return Result(FAILED, outcome.reason, retryable=outcome.retryable)

    async def _finish(self, message_id: str, result: Result) -> None:
        async with self._uow() as uow:
            message = await self._leased(uow, message_id)
            if message is None:
                log.warning("lease lost before the outcome was recorded", extra={"message_id": message_id})
                return
            now = self._clock()
            if result.outcome == FAILED and result.retryable and message.attempts < self._settings.delivery_max_attempts:
                delay = self._settings.delivery_retry_seconds * 2 ** (message.attempts - 1)
                message.status, message.due_at, message.lease_holder, message.lease_until = (
                    QUEUED, now + timedelta(seconds=delay), None, None)
                add_log(uow, message_id, "retry", result.reason, now)
            else:
                if result.outcome != SENT:
                    await contacts.release(uow, message_id)
                self._close(uow, message, result.outcome, result.reason, now)
            await uow.commit()

    async def _leased(self, uow: UnitOfWork, message_id: str) -> Message | None:
        message = await uow.session.get(Message, message_id, populate_existing=True)
        if message is None or message.status != SENDING or message.lease_holder != self.holder:
            return None
        return message

    @staticmethod
    def _close(uow: UnitOfWork, message: Message, outcome: str, reason: str | None, now: datetime) -> None:
        message.status, message.reason, message.lease_holder, message.lease_until = outcome, reason, None, None
        if outcome == SENT:
            message.sent_at = now
        add_log(uow, message.message_id, outcome, reason, now)
        uow.record(outcome_event(message, outcome, reason))
