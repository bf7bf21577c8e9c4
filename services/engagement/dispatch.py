"""The dispatcher: leases due messages, decides under the contact policy, delivers, records the outcome.

Each replica runs one, working a few batches at a time (`dispatch_batches_in_flight`). A message is
leased (`FOR UPDATE SKIP LOCKED` on PostgreSQL, a conditional update everywhere) before anything is done
with it, so one replica handles it at a time; a replica that dies leaves a lease that expires and another
replica takes the message up again. A message marked sent is never delivered again, and adapters hand
providers the message id to drop a repeat made just before a crash.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, case, func, insert, or_, select, update

from services.engagement import contacts, projection
from services.engagement.channels import ChannelAdapter, DryRunChannel, Outgoing
from services.engagement.messages import (
    FAILED,
    QUEUED,
    SENDING,
    SENT,
    SUPPRESSED,
    add_log,
    outcome_event,
)
from services.engagement.models import Audience, Message, MessageLog, PointsEntry, Template
from services.engagement.policy import PRIORITIES, Decision, PastContact, decide
from services.engagement.profile_client import Contact, ProfileClient, ProfileUnavailable
from services.engagement.rendering import (
    RenderError,
    personalisation,
    pick_locale,
    render,
)
from services.engagement.settings import EngagementSettings
from shared.db import one_of, utcnow
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)
#: Rows of the audience and messages tables: the columns read as attributes, without an ORM object per row.
AudienceRow = Row[Any]
MessageRow = Row[Any]

#: What deciding and preparing a delivery read of a message.
_TO_DECIDE = (Message.message_id, Message.customer_id, Message.requested_channel, Message.channel, Message.priority,
              Message.template_id, Message.subject, Message.body, Message.variables, Message.expires_at)

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
    """Handles due messages a batch at a time: one transaction leases the batch, one decides for all of it
    under the customers' ledger locks, deliveries run concurrently, one transaction records every outcome."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], settings: EngagementSettings,
                 profile: ProfileClient, channels: dict[str, ChannelAdapter],
                 clock: Callable[[], datetime] = utcnow, holder: str | None = None):
        self._uow = unit_of_work
        self._settings = settings
        self._profile = profile
        self._channels = channels
        self._clock = clock
        self._slots = asyncio.Semaphore(settings.dispatch_concurrency)
        self.holder = holder or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"

    async def drain(self) -> int:
        """Dispatch due messages, `dispatch_batches_in_flight` batches at a time, until a batch comes back short of
        full; returns how many were leased."""
        async def lane() -> int:
            leased = 0
            while (claimed := await self.run_once()) > 0:
                leased += claimed
                if claimed < self._settings.dispatch_batch_size:
                    break
            return leased

        leased = await asyncio.gather(*(lane() for _ in range(self._settings.dispatch_batches_in_flight)),
                                      return_exceptions=True)  # a lane that fails leaves the others to finish
        for outcome in leased:
            if isinstance(outcome, BaseException):
                raise outcome
        return sum(leased)  # type: ignore[arg-type]

    async def run_once(self) -> int:
        """Handle one batch of due messages; returns how many were leased."""
        claimed = await self.claim()
        if claimed:
            try:
                await self.process_batch(claimed)
            except Exception:  # the leases run out and the messages are taken up again
                log.exception("dispatching a batch failed", extra={"messages": len(claimed)})
        return len(claimed)

    async def claim(self) -> list[str]:
        """Lease up to a batch of due messages, most urgent first, in one statement."""
        now = self._clock()
        due = or_(and_(Message.status == QUEUED, Message.due_at <= now),
                  and_(Message.status == SENDING, Message.lease_until < now))
        candidates = (select(Message.message_id).where(due).order_by(_PRIORITY_RANK, Message.due_at)
                      .limit(self._settings.dispatch_batch_size).with_for_update(skip_locked=True))
        async with self._uow() as uow:
            taken = await uow.session.execute(
                update(Message).where(Message.message_id.in_(candidates.scalar_subquery()), due).values(
                    status=SENDING, lease_holder=self.holder, attempts=Message.attempts + 1,
                    lease_until=now + timedelta(seconds=self._settings.dispatch_lease_seconds))
                .returning(Message.message_id).execution_options(synchronize_session=False))
            claimed = list(taken.scalars().all())
            await uow.commit()
        return claimed

    async def process(self, message_id: str) -> None:
        await self.process_batch([message_id])

    async def process_batch(self, message_ids: list[str]) -> None:
        deliveries = await self._decide(message_ids)
        if not deliveries:
            return
        try:
            contacts = await self._profile.contacts([delivery.customer_id for delivery in deliveries])
        except ProfileUnavailable as exc:
            await self._finish({d.message_id: Result(FAILED, str(exc), retryable=True) for d in deliveries})
            return

        results: dict[str, Result] = {}
        pending = iter(deliveries)

        async def worker() -> None:  # a few workers take the deliveries in turn: no task per message
            async with self._slots:
                for delivery in pending:
                    try:
                        results[delivery.message_id] = await self._deliver(delivery, contacts[delivery.customer_id])
                    except Exception as exc:  # recorded as a retryable failure, like an unreachable provider
                        log.exception("delivering a message failed", extra={"message_id": delivery.message_id})
                        results[delivery.message_id] = Result(FAILED, f"dispatch_error:{type(exc).__name__}",
                                                              retryable=True)

        await asyncio.gather(*(worker() for _ in range(min(self._settings.dispatch_concurrency, len(deliveries)))))
        await self._finish(results)

    async def _decide(self, message_ids: list[str]) -> list[Delivery]:
        """Decide for every leased message of the batch in one transaction; returns those to deliver. The batch
        is read as rows; only the messages not sent now (expired, suppressed, deferred) are loaded as objects."""
        async with self._uow() as uow:
            rows = await self._leased_rows(uow, message_ids)
            now = self._clock()
            expired = {r.message_id for r in rows if r.expires_at is not None and r.expires_at <= now}
            live = [r for r in rows if r.message_id not in expired]
            reserved = await contacts.reserved_among(uow, [r.message_id for r in live])
            channels = {r.message_id: r.channel for r in live if r.message_id in reserved}  # decided before a retry
            undecided = [r for r in live if r.message_id not in reserved]
            audiences = await self._audiences(uow, [r.customer_id for r in live])
            held: dict[str, Decision] = {}
            if undecided:
                sending, held = await self._apply_policy(uow, undecided, audiences, now)
                channels.update(sending)
            await self._hold(uow, expired, held, now)
            deliveries = await self._prepare(uow, [r for r in live if r.message_id in channels], channels, audiences)
            await uow.commit()
            return deliveries

    @staticmethod
    async def _audiences(uow: UnitOfWork, customer_ids: list[str]) -> dict[str, AudienceRow]:
        rows = await uow.session.execute(
            select(Audience.customer_id, Audience.timezone, Audience.locale, Audience.do_not_contact,
                   Audience.consents, Audience.tier)
            .where(one_of(_dialect(uow), Audience.customer_id, sorted(set(customer_ids)))))
        return {row.customer_id: row for row in rows}

    @staticmethod
    async def _apply_policy(uow: UnitOfWork, messages: list[MessageRow], audiences: dict[str, AudienceRow],
                            now: datetime) -> tuple[dict[str, str], dict[str, Decision]]:
        """Decide under the customers' ledger locks; returns the channel of each message whose contact was
        reserved for sending, and the decisions not to send now. Several messages for one customer are decided in
        turn, each seeing the contacts reserved before it."""
        customers = sorted({m.customer_id for m in messages})
        await contacts.lock_ledgers(uow, customers)
        history = await contacts.recent_contacts_of(uow, customers, now)
        policy = await contacts.load_policy(uow)
        sending: dict[str, str] = {}
        held: dict[str, Decision] = {}
        for message in messages:
            recipient = projection.recipient_from(message.customer_id, audiences.get(message.customer_id))
            decision = decide(message.requested_channel, message.priority, recipient, history[message.customer_id],
                              policy, now)
            if decision.outcome == "send":
                sending[message.message_id] = decision.channel
                history[message.customer_id].append(PastContact(decision.channel, message.priority, now))
            else:
                held[message.message_id] = decision
        await contacts.reserve_all(uow, [{"message_id": m.message_id, "customer_id": m.customer_id,
                                          "channel": sending[m.message_id], "priority": m.priority, "contacted_at": now}
                                         for m in messages if m.message_id in sending])
        await Dispatcher._set_channels(uow, sending)
        return sending, held

    @staticmethod
    async def _set_channels(uow: UnitOfWork, channels: dict[str, str]) -> None:
        """Store the channel each message is to go through: one update per channel rather than one per message."""
        by_channel: dict[str, list[str]] = {}
        for message_id, channel in channels.items():
            by_channel.setdefault(channel, []).append(message_id)
        for channel, message_ids in by_channel.items():
            await uow.session.execute(update(Message).where(one_of(_dialect(uow), Message.message_id, message_ids))
                                      .values(channel=channel).execution_options(synchronize_session=False))

    async def _hold(self, uow: UnitOfWork, expired: set[str], held: dict[str, Decision], now: datetime) -> None:
        """Close the expired and suppressed messages, and queue the deferred ones again."""
        if not expired and not held:
            return
        for message in await self._leased(uow, [*expired, *held]):
            decision = held.get(message.message_id)
            if decision is None:
                self._close(uow, message, SUPPRESSED, "expired", now)
                continue
            message.channel = decision.channel
            if decision.outcome == "suppress":
                self._close(uow, message, SUPPRESSED, decision.reason, now)
                continue
            assert decision.until is not None
            if message.expires_at is not None and decision.until >= message.expires_at:
                self._close(uow, message, SUPPRESSED, f"{decision.reason}_until_expiry", now)
                continue
            note = f"{decision.reason} until {decision.until.isoformat()}"
            message.status, message.due_at, message.lease_holder, message.lease_until = (
                QUEUED, decision.until, None, None)
            message.reason = note
            message.attempts -= 1  # waiting is not a delivery attempt
            add_log(uow, message.message_id, "deferred", note, now)

    @staticmethod
    async def _prepare(uow: UnitOfWork, messages: list[MessageRow], channels: dict[str, str],
                       audiences: dict[str, AudienceRow]) -> list[Delivery]:
        """What each message says to its customer, through the channel decided: its own text, or its template
        in the customer's locale."""
        if not messages:
            return []
        template_ids = {m.template_id for m in messages if m.template_id is not None}
        templates: dict[str, dict[str, Template]] = {}
        if template_ids:
            for template in (await uow.session.scalars(select(Template).where(Template.template_id.in_(template_ids)))).all():
                templates.setdefault(template.template_id, {})[template.locale] = template
        customers = sorted({m.customer_id for m in messages})
        points = dict((await uow.session.execute(
            select(PointsEntry.customer_id, func.sum(PointsEntry.points))
            .where(one_of(_dialect(uow), PointsEntry.customer_id, customers)).group_by(PointsEntry.customer_id))).all())
        deliveries = []
        for message in messages:
            audience = audiences.get(message.customer_id)
            subject, body = message.subject, message.body or ""
            variants = templates.get(message.template_id or "", {})
            if variants:
                default = next((t.locale for t in variants.values() if t.is_default), None)
                chosen = pick_locale(list(variants), audience.locale if audience else None, default)
                if chosen is not None:
                    subject, body = variants[chosen].subject, variants[chosen].body
            deliveries.append(Delivery(message.message_id, message.customer_id, channels[message.message_id] or "email",
                                       message.priority, subject, body, audience.tier if audience else None,
                                       int(points.get(message.customer_id) or 0), dict(message.variables or {})))
        return deliveries

    async def _deliver(self, delivery: Delivery, contact: Contact) -> Result:
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

    async def _finish(self, results: dict[str, Result]) -> None:
        """Record every outcome of the batch in one transaction: sent, suppressed, failed, or queued to retry."""
        async with self._uow() as uow:
            now = self._clock()
            recorded = await self._record_sent(uow, {m: r for m, r in results.items() if r.outcome == SENT}, now)
            others = [message_id for message_id, result in results.items() if result.outcome != SENT]
            messages = {m.message_id: m for m in await self._leased(uow, others)} if others else {}
            for lost in results.keys() - recorded - messages.keys():
                log.warning("lease lost before the outcome was recorded", extra={"message_id": lost})
            released = []
            for message_id, message in messages.items():
                result = results[message_id]
                if result.outcome == FAILED and result.retryable and message.attempts < self._settings.delivery_max_attempts:
                    delay = self._settings.delivery_retry_seconds * 2 ** (message.attempts - 1)
                    message.status, message.due_at, message.lease_holder, message.lease_until = (
                        QUEUED, now + timedelta(seconds=delay), None, None)
                    add_log(uow, message_id, "retry", result.reason, now)
                else:
                    released.append(message_id)
                    self._close(uow, message, result.outcome, result.reason, now)
            await contacts.release_all(uow, released)
            await uow.commit()

    async def _record_sent(self, uow: UnitOfWork, sent: dict[str, Result], now: datetime) -> set[str]:
        """Mark the sent messages this dispatcher still holds, set-wise (one update per reason), with their log
        entries and outreach-sent events; returns their ids."""
        by_reason: dict[str | None, list[str]] = {}
        for message_id, result in sent.items():
            by_reason.setdefault(result.reason, []).append(message_id)
        recorded: set[str] = set()
        for reason, message_ids in by_reason.items():
            rows = (await uow.session.execute(
                update(Message).where(one_of(_dialect(uow), Message.message_id, message_ids), Message.status == SENDING,
                                      Message.lease_holder == self.holder)
                .values(status=SENT, reason=reason, lease_holder=None, lease_until=None, sent_at=now)
                .returning(Message.message_id, Message.customer_id, Message.campaign_id, Message.journey_id,
                           Message.invitation_id, Message.template_id, Message.channel)
                .execution_options(synchronize_session=False))).all()
            if rows:
                await uow.session.execute(insert(MessageLog.__table__), [
                    {"message_id": row.message_id, "kind": SENT, "reason": reason, "at": now} for row in rows])
            for row in rows:
                uow.record(outcome_event(row, SENT, reason))
                recorded.add(row.message_id)
        return recorded

    async def _leased_rows(self, uow: UnitOfWork, message_ids: list[str]) -> list[MessageRow]:
        """`_leased`, as rows of what deciding and rendering read."""
        return list((await uow.session.execute(
            select(*_TO_DECIDE).where(one_of(_dialect(uow), Message.message_id, message_ids),
                                      Message.status == SENDING, Message.lease_holder == self.holder)
            .order_by(Message.customer_id, Message.message_id))).all())

    async def _leased(self, uow: UnitOfWork, message_ids: list[str]) -> list[Message]:
        """The messages of the batch this dispatcher still holds the lease of, by customer."""
        return list((await uow.session.scalars(
            select(Message).where(one_of(_dialect(uow), Message.message_id, message_ids), Message.status == SENDING,
                                  Message.lease_holder == self.holder)
            .order_by(Message.customer_id, Message.message_id).execution_options(populate_existing=True))).all())

    @staticmethod
    def _close(uow: UnitOfWork, message: Message, outcome: str, reason: str | None, now: datetime) -> None:
        message.status, message.reason, message.lease_holder, message.lease_until = outcome, reason, None, None
        if outcome == SENT:
            message.sent_at = now
        add_log(uow, message.message_id, outcome, reason, now)
        uow.record(outcome_event(message, outcome, reason))


def _dialect(uow: UnitOfWork) -> str:
    return uow.session.bind.dialect.name
