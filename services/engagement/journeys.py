"""Journey use cases: store journeys, and start the matching ones when a customer's standing changes."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from services.engagement.journey_rules import Change, is_birthday, triggers
from services.engagement.messages import QueueMessage, queue_message
from services.engagement.models import Audience, Journey
from shared.uow import UnitOfWork


async def save_journey(uow: UnitOfWork, definition: dict[str, Any], now: datetime) -> Journey:
    journey = await uow.session.get(Journey, definition["journey_id"])
    if journey is None:
        journey = Journey(journey_id=definition["journey_id"])
        uow.session.add(journey)
    journey.trigger_event = definition["trigger"]["event"]
    journey.definition = definition
    journey.enabled = definition["enabled"]
    journey.updated_at = now
    return journey


async def start_journeys(uow: UnitOfWork, customer_id: str, change: Change, event_id: str, now: datetime) -> int:
    """Queue the message of every enabled journey the change triggers; returns how many started."""
    journeys = (await uow.session.scalars(select(Journey).where(
        Journey.trigger_event == change.event_type, Journey.enabled.is_(True)))).all()
    started = 0
    for journey in journeys:
        definition = journey.definition
        if not triggers(definition["trigger"], change):
            continue
        # One message per journey and causing event: a redelivered event queues nothing new.
        suffix = hashlib.sha256(event_id.encode()).hexdigest()[:12]
        await _queue(uow, journey, customer_id, f"jny-{journey.journey_id}-{suffix}", now)
        started += 1
    return started


async def _queue(uow: UnitOfWork, journey: Journey, customer_id: str, message_id: str, now: datetime) -> None:
    definition = journey.definition
    await queue_message(uow, QueueMessage(
        message_id=message_id, customer_id=customer_id, channel=definition["channel"],
        priority=definition["priority"], template_id=definition.get("template_id"),
        subject=definition.get("subject"), body=definition.get("body"),
        send_at=now + timedelta(hours=definition.get("delay_hours", 0)), journey_id=journey.journey_id), now)


async def start_birthday_journeys(uow: UnitOfWork, now: datetime, default_zone: str) -> int:
    """Queue each birthday journey's message for customers whose local date is their birthday, once a year."""
    journeys = (await uow.session.scalars(select(Journey).where(
        Journey.trigger_event == "birthday", Journey.enabled.is_(True)))).all()
    if not journeys:
        return 0
    near = {(now + timedelta(days=shift)).strftime("%m-%d") for shift in (-1, 0, 1)} | {"02-29"}
    rows = (await uow.session.execute(select(Audience.customer_id, Audience.birthday, Audience.timezone)
                                      .where(Audience.birthday.in_(near)))).all()
    started = 0
    for customer_id, birthday, zone in rows:
        local_day = now.astimezone(_zone(zone) or _zone(default_zone) or ZoneInfo("UTC")).date()
        if not is_birthday(birthday, local_day):
            continue
        for journey in journeys:
            await _queue(uow, journey, customer_id, f"jny-{journey.journey_id}-{local_day.year}-{customer_id}", now)
            started += 1
    return started


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None
