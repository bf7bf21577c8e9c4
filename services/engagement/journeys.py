"""Journey use cases: store journeys, start and end instances on events and calendar days, and advance
due instances step by step. The rules are in `journey_rules`; this module reads and writes the rows."""
from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    bindparam,
    delete,
    func,
    literal,
    null,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.types import JSON

from services.engagement.contacts import load_policy
from services.engagement.coupons import issue_batch
from services.engagement.journey_rules import (
    Action,
    GrantCoupon,
    GrantPoints,
    JourneyEvent,
    Progress,
    Send,
    advance,
    birthdays_on,
    facts_for,
    holiday_on,
    matches,
)
from services.engagement.messages import InvalidMessage, QueueMessage, queue_message
from services.engagement.models import (
    Audience,
    Journey,
    JourneyInstance,
    Message,
    PointsEntry,
    SegmentMember,
    Template,
)
from services.engagement.rendering import RenderError, check_syntax
from shared.db import dialect_insert
from shared.uow import UnitOfWork

ACTIVE, COMPLETED, EXITED = "active", "completed", "exited"
JOURNEY_POINTS = "journey"


class InvalidJourney(Exception):
    def __init__(self, field: str, detail: str):
        super().__init__(detail)
        self.field = field
        self.detail = detail


# --- definitions ---------------------------------------------------------------------------------------

async def save_journey(uow: UnitOfWork, definition: dict[str, Any], now: datetime) -> Journey:
    """Create or replace a journey whose send steps name existing templates or valid template text."""
    await _check_messages(uow, definition["steps"])
    journey = await uow.session.get(Journey, definition["journey_id"])
    if journey is None:
        journey = Journey(journey_id=definition["journey_id"])
        uow.session.add(journey)
    journey.trigger_event = definition["trigger"]["event"]
    journey.definition = definition
    journey.enabled = definition["enabled"]
    journey.updated_at = now
    return journey


async def _check_messages(uow: UnitOfWork, steps: list[dict[str, Any]]) -> None:
    for position, step in enumerate(steps):
        if step["type"] != "send":
            continue
        if step.get("template_id") is not None:
            exists = await uow.session.scalar(select(Template.template_id).where(
                Template.template_id == step["template_id"]).limit(1))
            if exists is None:
                raise InvalidJourney(f"steps.{position}.template_id",
                                     f"step {step['id']!r}: template {step['template_id']!r} does not exist")
        for name in ("subject", "body"):
            if step.get(name) is not None:
                try:
                    check_syntax(step[name], name)
                except RenderError as exc:
                    raise InvalidJourney(f"steps.{position}.{name}", f"step {step['id']!r}: {exc}") from None


async def enabled_journeys(uow: UnitOfWork) -> list[Journey]:
    return list((await uow.session.scalars(select(Journey).where(Journey.enabled.is_(True))
                                           .order_by(Journey.journey_id))).all())


def listening(journeys: Iterable[Journey], event_type: str) -> list[Journey]:
    """The journeys an event type can start or end."""
    return [j for j in journeys if j.definition["trigger"]["event"] == event_type
            or any(t["event"] == event_type for t in j.definition.get("exit_on", []))]


def wants_first_purchases(journeys: Iterable[Journey]) -> bool:
    return any(t["event"] == "purchase-recorded" and t.get("first_purchase")
               for j in journeys for t in [j.definition["trigger"], *j.definition.get("exit_on", [])])


# --- events --------------------------------------------------------------------------------------------

@dataclass
class Reaction:
    started: int = 0
    exited: int = 0
    queued: int = 0


async def react(uow: UnitOfWork, events: list[JourneyEvent], now: datetime,
                journeys: list[Journey] | None = None) -> Reaction:
    """End the instances an event's `exit_on` matches, then start (and run up to their first wait) the
    journeys it triggers. One instance per journey and causing event; none while one is active."""
    reaction = Reaction()
    if not events:
        return reaction
    journeys = journeys if journeys is not None else await enabled_journeys(uow)
    zone = None
    for event in events:
        candidates = listening(journeys, event.type)
        ending = [j.journey_id for j in candidates if any(matches(t, event) for t in j.definition.get("exit_on", []))]
        if ending:
            reaction.exited += await _exit(uow, event.customer_id, ending, f"exit_on:{event.type}", now)
        for journey in candidates:
            if not matches(journey.definition["trigger"], event):
                continue
            cause = "event-" + hashlib.sha256(f"{event.type}/{event.key}".encode()).hexdigest()[:16]
            state = await _start(uow, journey, event.customer_id, cause, {"event": _event_context(event)}, now)
            if state is None:
                continue
            reaction.started += 1
            zone = zone or ZoneInfo((await load_policy(uow)).default_timezone)
            reaction.queued += await _advance(uow, {journey.journey_id: journey}, [state], zone, now)
    return reaction


def _event_context(event: JourneyEvent) -> dict[str, Any]:
    return {"type": event.type, **event.data}


async def _start(uow: UnitOfWork, journey: Journey, customer_id: str, cause: str, context: dict[str, Any],
                 now: datetime) -> _State | None:
    instance_id = f"{journey.journey_id}/{customer_id}/{cause}"
    result = await uow.session.execute(dialect_insert(uow.session.bind.dialect.name, JourneyInstance.__table__).values(
        instance_id=instance_id, journey_id=journey.journey_id, customer_id=customer_id, status=ACTIVE, step_id=None,
        due_at=now, context=context, trail=[], version=0, started_at=now, updated_at=now).on_conflict_do_nothing())
    if not result.rowcount:  # started before by this cause, or the customer is in the journey already
        return None
    return _State(instance_id, journey.journey_id, customer_id, None, context, [])


async def _exit(uow: UnitOfWork, customer_id: str, journey_ids: list[str], reason: str, now: datetime) -> int:
    result = await uow.session.execute(update(JourneyInstance).where(
        JourneyInstance.customer_id == customer_id, JourneyInstance.journey_id.in_(journey_ids),
        JourneyInstance.status == ACTIVE,
    ).values(status=EXITED, exit_reason=reason, due_at=None, finished_at=now, updated_at=now,
             version=JourneyInstance.version + 1).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)


async def forget_customer(uow: UnitOfWork, customer_id: str) -> None:
    """Erasure: the customer's journey instances go."""
    await uow.session.execute(delete(JourneyInstance).where(JourneyInstance.customer_id == customer_id)
                              .execution_options(synchronize_session=False))


async def move_merged_customer(uow: UnitOfWork, merged_customer_id: str, surviving_customer_id: str,
                               now: datetime) -> int:
    """A merged-away customer's journeys carry on as the surviving customer's, history included. Where both were
    in the same journey, the survivor's own instance goes on and the other ends. Returns how many ended."""
    survivors_journeys = select(JourneyInstance.journey_id).where(
        JourneyInstance.customer_id == surviving_customer_id, JourneyInstance.status == ACTIVE).scalar_subquery()
    ended = await uow.session.execute(update(JourneyInstance).where(
        JourneyInstance.customer_id == merged_customer_id, JourneyInstance.status == ACTIVE,
        JourneyInstance.journey_id.in_(survivors_journeys),
    ).values(status=EXITED, exit_reason="customer_merged", due_at=None, finished_at=now, updated_at=now,
             version=JourneyInstance.version + 1).execution_options(synchronize_session=False))
    await uow.session.execute(update(JourneyInstance).where(JourneyInstance.customer_id == merged_customer_id)
                              .values(customer_id=surviving_customer_id, updated_at=now,
                                      version=JourneyInstance.version + 1)
                              .execution_options(synchronize_session=False))
    return int(ended.rowcount or 0)


# --- calendar days -------------------------------------------------------------------------------------

async def start_calendar_journeys(uow: UnitOfWork, now: datetime, default_zone: str) -> int:
    """Start birthday and holiday journeys for every customer whose local date is the day, once per day
    and journey; one INSERT ... SELECT per journey and local date. Returns how many started."""
    journeys = [j for j in await enabled_journeys(uow) if j.trigger_event in ("birthday", "holiday")]
    if not journeys:
        return 0
    by_day = await _zones_by_local_day(uow, now, default_zone)
    started = 0
    for journey in journeys:
        trigger = journey.definition["trigger"]
        for local_day, zones in by_day.items():
            if trigger["event"] == "birthday":
                cause, event = f"birthday-{local_day.year}", {"type": "birthday", "date": local_day.isoformat()}
                who = Audience.birthday.in_(sorted(birthdays_on(local_day)))
            else:
                holiday = holiday_on(trigger["calendar"], local_day)
                if holiday is None:
                    continue
                cause = f"holiday-{local_day.isoformat()}"
                event = {"type": "holiday", "date": local_day.isoformat(), "name": holiday["name"]}
                who = true()
            if trigger.get("segment_id"):
                who = who & Audience.customer_id.in_(select(SegmentMember.customer_id).where(
                    SegmentMember.segment_id == trigger["segment_id"]))
            started += await _start_many(uow, journey, cause, {"event": event}, who & _in_zones(zones), now)
    return started


async def start_birthday_journeys(uow: UnitOfWork, now: datetime, default_zone: str) -> int:
    """Birthday (and holiday) journeys of the day; kept under this name for the hourly job's callers."""
    return await start_calendar_journeys(uow, now, default_zone)


async def _zones_by_local_day(uow: UnitOfWork, now: datetime, default_zone: str) -> dict[date, list[str | None]]:
    """The customers' time zones (as stored, None for unknown) grouped by their local date now."""
    fallback = _zone(default_zone) or ZoneInfo("UTC")
    groups: dict[date, list[str | None]] = defaultdict(list)
    for name in (await uow.session.scalars(select(Audience.timezone).distinct())).all():
        groups[now.astimezone(_zone(name) or fallback).date()].append(name)
    return dict(groups)


def _in_zones(zones: list[str | None]) -> Any:
    named = [z for z in zones if z is not None]
    condition = Audience.timezone.in_(named)
    return or_(condition, Audience.timezone.is_(None)) if None in zones else condition


async def _start_many(uow: UnitOfWork, journey: Journey, cause: str, context: dict[str, Any], who: Any,
                      now: datetime) -> int:
    table = JourneyInstance.__table__
    rows = select(
        literal(f"{journey.journey_id}/") + Audience.customer_id + literal(f"/{cause}"),
        literal(journey.journey_id), Audience.customer_id, literal(ACTIVE), null(),
        literal(now, JourneyInstance.due_at.type), literal(context, JSON), literal([], JSON), literal(0),
        literal(now, JourneyInstance.started_at.type), literal(now, JourneyInstance.updated_at.type),
    ).where(who)
    columns = ["instance_id", "journey_id", "customer_id", "status", "step_id", "due_at", "context", "trail",
               "version", "started_at", "updated_at"]
    result = await uow.session.execute(dialect_insert(uow.session.bind.dialect.name, table)
                                       .from_select(columns, rows).on_conflict_do_nothing())
    return int(result.rowcount or 0)


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


# --- advancing -----------------------------------------------------------------------------------------

@dataclass
class Advanced:
    instances: int = 0
    queued: int = 0


@dataclass
class _State:
    """An instance as advancing reads and rewrites it (plain values, so nothing is flushed behind our back)."""

    instance_id: str
    journey_id: str
    customer_id: str
    step_id: str | None
    context: dict[str, Any]
    trail: list[dict[str, Any]]


_WRITTEN = ("step_id", "due_at", "status", "exit_reason", "finished_at", "context", "trail", "updated_at")
_STATE_COLUMNS = (JourneyInstance.instance_id, JourneyInstance.journey_id, JourneyInstance.customer_id,
                  JourneyInstance.step_id, JourneyInstance.context, JourneyInstance.trail)


async def advance_due_journeys(uow: UnitOfWork, now: datetime, limit: int = 200) -> Advanced:
    """Run the due instances of enabled journeys up to their next wait. Rows are locked with
    `FOR UPDATE SKIP LOCKED` (PostgreSQL) and claimed by a version check (everywhere), so replicas
    advancing at once never run the same step twice."""
    table = JourneyInstance.__table__
    due = (await uow.session.execute(
        select(table.c.instance_id, table.c.version)
        .join(Journey.__table__, Journey.journey_id == table.c.journey_id)
        .where(table.c.status == ACTIVE, table.c.due_at <= now, Journey.enabled.is_(True))
        .order_by(table.c.due_at).limit(limit)
        .with_for_update(skip_locked=True, of=table))).all()
    if not due:
        return Advanced()
    claimed = (await uow.session.execute(
        update(table).where(tuple_(table.c.instance_id, table.c.version).in_([tuple(row) for row in due]),
                            table.c.status == ACTIVE)
        .values(version=table.c.version + 1).returning(*[getattr(table.c, c.key) for c in _STATE_COLUMNS]))).all()
    states = [_State(*row) for row in claimed]
    journeys = {j.journey_id: j for j in (await uow.session.scalars(select(Journey).where(
        Journey.journey_id.in_({s.journey_id for s in states})))).all()}
    zone = ZoneInfo((await load_policy(uow)).default_timezone)
    return Advanced(len(states), await _advance(uow, journeys, states, zone, now))


async def _advance(uow: UnitOfWork, journeys: Mapping[str, Journey], states: list[_State], zone: ZoneInfo,
                   now: datetime) -> int:
    """Advance claimed instances, carry out their actions and write their new state in one statement;
    returns how many messages were queued."""
    if not states:
        return 0
    batch = await _Batch.load(uow, states, zone)
    rows, points, queued = [], [], 0
    for state in states:
        row, granted, sent = await _run(uow, journeys[state.journey_id], state, batch, now)
        rows.append(row)
        points += granted
        queued += sent
    if points:
        await uow.session.execute(dialect_insert(uow.session.bind.dialect.name, PointsEntry.__table__)
                                  .on_conflict_do_nothing(), points)
    table = JourneyInstance.__table__
    await uow.session.execute(update(table).where(table.c.instance_id == bindparam("b_instance_id")).values(
        {name: bindparam(f"b_{name}", type_=table.c[name].type) for name in _WRITTEN}), rows)
    return queued


@dataclass
class _Batch:
    """What branches and waits need about the customers of a batch of instances, read in three queries."""

    audience: dict[str, dict[str, Any]]
    points: dict[str, int]
    messages: dict[str, dict[str, Any]]
    default_zone: ZoneInfo

    @classmethod
    async def load(cls, uow: UnitOfWork, states: list[_State], default_zone: ZoneInfo) -> _Batch:
        customers = {s.customer_id for s in states}
        audience = {row.customer_id: {"tier": row.tier, "lifecycle_stage": row.lifecycle_stage,
                                      "churn_risk": row.churn_risk, "locale": row.locale, "timezone": row.timezone}
                    for row in (await uow.session.execute(select(
                        Audience.customer_id, Audience.tier, Audience.lifecycle_stage, Audience.churn_risk,
                        Audience.locale, Audience.timezone).where(Audience.customer_id.in_(customers)))).all()}
        points = dict((await uow.session.execute(select(PointsEntry.customer_id, func.sum(PointsEntry.points))
                                                 .where(PointsEntry.customer_id.in_(customers))
                                                 .group_by(PointsEntry.customer_id))).all())
        message_ids = {s.context.get("last_message_id") for s in states} - {None}
        messages = {row.message_id: {"status": row.status, "delivery_status": row.delivery_status}
                    for row in (await uow.session.execute(select(
                        Message.message_id, Message.status, Message.delivery_status)
                        .where(Message.message_id.in_(message_ids)))).all()} if message_ids else {}
        return cls(audience, {c: int(p or 0) for c, p in points.items()}, messages, default_zone)

    def facts(self, state: _State) -> dict[str, Any]:
        return facts_for(self.audience.get(state.customer_id, {}), self.points.get(state.customer_id, 0),
                         state.context.get("event", {}), self.messages.get(state.context.get("last_message_id", "")))

    def zone(self, state: _State) -> ZoneInfo:
        return _zone(self.audience.get(state.customer_id, {}).get("timezone")) or self.default_zone


async def _run(uow: UnitOfWork, journey: Journey, state: _State, batch: _Batch,
               now: datetime) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    """Advance one instance and carry out its sends and coupons; returns its new row, the points entries
    to write and how many messages were queued."""
    progress = advance(journey.definition, state.step_id, batch.facts(state), now, batch.zone(state))
    context, trail, points, queued = dict(state.context), list(state.trail), [], 0
    actions = {action.step_id: action for action in progress.actions}
    for step_id in progress.visited:
        entry: dict[str, Any] = {"step": step_id, "at": now.isoformat()}
        action = actions.get(step_id)
        if isinstance(action, GrantPoints):
            points.append({"customer_id": state.customer_id, "points": action.points, "reason": JOURNEY_POINTS,
                           "reference": f"{state.instance_id}/{step_id}", "occurred_at": now})
            context["points_granted"] = int(context.get("points_granted", 0)) + action.points
            entry["points"] = action.points
        elif action is not None:
            try:
                entry.update(await _carry_out(uow, journey, state, action, context, now))
            except InvalidMessage as exc:
                progress = Progress([], [], None, None, EXITED, f"step {step_id!r}: {exc.detail}")
                trail.append({**entry, "failed": exc.detail})
                break
            queued += isinstance(action, Send)
        trail.append(entry)
    if progress.next_step is not None and progress.due_at is not None:
        trail[-1]["until"] = progress.due_at.isoformat()
    finished = progress.outcome != ACTIVE
    row = {"b_instance_id": state.instance_id, "b_step_id": progress.next_step, "b_due_at": progress.due_at,
           "b_status": progress.outcome, "b_exit_reason": progress.reason, "b_finished_at": now if finished else None,
           "b_context": context, "b_trail": trail[-100:], "b_updated_at": now}
    return row, points, queued


async def _carry_out(uow: UnitOfWork, journey: Journey, state: _State, action: Action,
                     context: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Queue a message or issue a coupon under the instance's natural keys, so a repeat adds nothing."""
    if isinstance(action, Send):
        key = hashlib.sha256(state.instance_id.encode()).hexdigest()[:24]
        message_id = f"jny-{key}-{action.step_id}"
        await queue_message(uow, QueueMessage(
            message_id=message_id, customer_id=state.customer_id, channel=action.channel,
            priority=action.priority, template_id=action.template_id, subject=action.subject, body=action.body,
            variables=_variables(action.variables, context, journey), send_at=now,
            expires_at=now + action.expires_after if action.expires_after else None,
            journey_id=journey.journey_id), now)
        context["last_message_id"] = message_id
        return {"message_id": message_id}
    assert isinstance(action, GrantCoupon)
    [code] = await issue_batch(uow, batch_id=journey.journey_id, count=1, prefix=action.prefix,
                               discount=action.discount, expires_at=now + action.valid_for if action.valid_for else None,
                               customer_ids=[state.customer_id], now=now)
    context["coupon_code"] = code
    return {"coupon_code": code}


def _variables(own: Mapping[str, Any], context: Mapping[str, Any], journey: Journey) -> dict[str, Any]:
    """A send step's variables, with the starting event, the coupon code and the journey for templates."""
    return {"coupon_code": context.get("coupon_code"), "points_granted": context.get("points_granted", 0),
            **own, "event": context.get("event", {}),
            "journey": {"id": journey.journey_id, "name": journey.definition.get("name")}}
