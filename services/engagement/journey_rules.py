"""Journeys, pure: which events start or end a journey, and what a journey does next.

A journey definition (as validated by `schemas_journeys.JourneyWrite`, stored as JSON) names a trigger,
optional `exit_on` triggers and a list of steps. An instance of it sits *before* one step (`step_id`) until
`due_at`; advancing runs steps in order until a wait (which sets the next `due_at`) or the end:

- `send`: queue a message (the contact policy decides at send time);
- `grant_points`, `grant_coupon`: credit the loyalty ledger, issue a personal coupon code;
- `wait`: a duration, and/or until the next given local time of day in the customer's time zone;
- `branch`: go to `then` when the condition holds on the customer's facts, else to `else` (or on).
Branches only jump forward, so advancing always ends.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter

END = "end"
#: event type -> the vocabulary's order for `direction` (lowest first), where a direction makes sense
RANKS: dict[str, tuple[str, ...]] = {
    "tier-changed": ("low-value", "ordinary", "potential", "high-value"),
    "churn-risk-changed": ("low", "medium", "high"),
}
STANDING_EVENTS = ("tier-changed", "lifecycle-stage-changed", "churn-risk-changed")
CALENDAR_EVENTS = ("birthday", "holiday")


@dataclass(frozen=True)
class JourneyEvent:
    """An event as journeys see it: standing changes carry `previous` and `current`; purchases
    `first_purchase`; feedback `kind`, `score`, `sentiment`; complaints `severity`, `category`."""

    type: str
    customer_id: str
    key: str
    """What makes the event one occurrence: its natural key (an order, a case, a response) where it has
    one, else the envelope id. A journey starts once per journey, customer and key."""
    data: Mapping[str, Any] = field(default_factory=dict)


def matches(trigger: Mapping[str, Any], event: JourneyEvent) -> bool:
    """Whether the event fits the trigger (a start trigger or an `exit_on` entry)."""
    if trigger.get("event") != event.type:
        return False
    data = event.data
    if event.type in STANDING_EVENTS:
        return _standing_matches(trigger, event.type, data.get("previous"), data["current"])
    if event.type == "purchase-recorded":
        return not trigger.get("first_purchase") or bool(data.get("first_purchase"))
    if event.type == "feedback-received":
        return _feedback_matches(trigger, data)
    if event.type in ("complaint-opened", "complaint-resolved"):
        return all(_one_of(trigger.get(key), data.get(key)) for key in ("severity", "category"))
    return True


def _standing_matches(trigger: Mapping[str, Any], event_type: str, previous: str | None, current: str) -> bool:
    """Moving *into* `to` (re-stating a value starts nothing), only from `from`, only `up` or `down`."""
    if previous == current:
        return False
    if trigger.get("to") is not None and trigger["to"] != current:
        return False
    if not _one_of(trigger.get("from"), previous):
        return False
    direction = trigger.get("direction")
    if direction is None:
        return True
    order = RANKS[event_type]
    if previous not in order:  # a first assignment is neither an upgrade nor a downgrade
        return False
    rise = order.index(current) - order.index(previous)
    return rise > 0 if direction == "up" else rise < 0


def _feedback_matches(trigger: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    if not _one_of(trigger.get("kind"), data.get("kind")) or not _one_of(trigger.get("sentiment"), data.get("sentiment")):
        return False
    score = data.get("score")
    at_most, at_least = trigger.get("score_at_most"), trigger.get("score_at_least")
    if (at_most is not None or at_least is not None) and score is None:
        return False
    return (at_most is None or score <= at_most) and (at_least is None or score >= at_least)


def _one_of(allowed: list[Any] | None, value: Any) -> bool:
    return not allowed or value in allowed


# --- calendar triggers ---------------------------------------------------------------------------------

def is_birthday(month_day: str, local_day: date) -> bool:
    """`MM-DD` falls on the customer's local date; 02-29 birthdays are kept on 02-28 in other years."""
    return month_day in birthdays_on(local_day)


def birthdays_on(local_day: date) -> set[str]:
    """The `MM-DD` birthdays celebrated on a date (02-29 ones on 02-28 of common years)."""
    days = {local_day.strftime("%m-%d")}
    if (local_day.month, local_day.day) == (2, 28) and not _is_leap(local_day.year):
        days.add("02-29")
    return days


def holiday_on(calendar: list[Mapping[str, Any]], local_day: date) -> Mapping[str, Any] | None:
    """The calendar entry for a date: `date` is `MM-DD` (every year) or `YYYY-MM-DD` (that year only)."""
    for entry in calendar:
        if entry["date"] in (local_day.strftime("%m-%d"), local_day.isoformat()):
            return entry
    return None


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# --- steps -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Send:
    step_id: str
    channel: str
    priority: str
    template_id: str | None
    subject: str | None
    body: str | None
    variables: Mapping[str, Any]
    expires_after: timedelta | None


@dataclass(frozen=True)
class GrantPoints:
    step_id: str
    points: int


@dataclass(frozen=True)
class GrantCoupon:
    step_id: str
    discount: str
    prefix: str
    valid_for: timedelta | None


Action = Send | GrantPoints | GrantCoupon
_DURATION = TypeAdapter(timedelta)


@dataclass(frozen=True)
class Progress:
    """What advancing did: the actions to carry out, in order, and where the instance now waits.
    `next_step` None means the journey is over (`outcome` completed, or exited when a step was removed)."""

    actions: list[Action]
    visited: list[str]
    next_step: str | None
    due_at: datetime | None
    outcome: str = "active"  # active, completed, exited
    reason: str | None = None


def advance(definition: Mapping[str, Any], step_id: str | None, facts: Mapping[str, Any], now: datetime,
            zone: ZoneInfo) -> Progress:
    """Run the instance's steps from `step_id` (None: the first) until a wait or the end."""
    steps = definition["steps"]
    index = {step["id"]: position for position, step in enumerate(steps)}
    if step_id is not None and step_id not in index:
        return Progress([], [], None, None, "exited", f"step_removed:{step_id}")
    position = 0 if step_id is None else index[step_id]
    actions: list[Action] = []
    visited: list[str] = []
    while position < len(steps):
        step = steps[position]
        visited.append(step["id"])
        kind = step["type"]
        if kind == "wait":
            following = position + 1
            if following >= len(steps):
                break
            return Progress(actions, visited, steps[following]["id"], wait_until(step, now, zone))
        if kind == "branch":
            target = step["then"] if holds(step["if"], facts) else step.get("else")
            if target == END:
                break
            position = index[target] if target is not None else position + 1
            continue
        actions.append(_action(step))
        position += 1
    return Progress(actions, visited, None, None, "completed")


def _action(step: Mapping[str, Any]) -> Action:
    kind = step["type"]
    if kind == "send":
        return Send(step["id"], step.get("channel", "preferred"), step.get("priority", "promotion"),
                    step.get("template_id"), step.get("subject"), step.get("body"), step.get("variables") or {},
                    _duration(step.get("expires_after")))
    if kind == "grant_points":
        return GrantPoints(step["id"], int(step["points"]))
    if kind == "grant_coupon":
        return GrantCoupon(step["id"], step["discount"], step.get("prefix", ""), _duration(step.get("valid_for")))
    raise ValueError(f"unknown step type {kind!r}")


def wait_until(step: Mapping[str, Any], now: datetime, zone: ZoneInfo) -> datetime:
    """`now` plus the step's duration, then on to the next `until_local_time` in the customer's zone."""
    moment = now + (_duration(step.get("duration")) or timedelta(0))
    local_time = step.get("until_local_time")
    if local_time is None:
        return moment
    return next_local_time(moment, time.fromisoformat(local_time), zone)


def next_local_time(moment: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first instant at or after `moment` whose local wall-clock time in `zone` is `at`."""
    local = moment.astimezone(zone)
    candidate = datetime.combine(local.date(), at, tzinfo=zone)
    if candidate < local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)
    return candidate.astimezone(moment.tzinfo)


def _duration(value: Any) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    return _DURATION.validate_python(value)  # ISO 8601 as stored, e.g. "P7D"


# --- branch conditions -------------------------------------------------------------------------------------

#: the facts a branch can test, besides `event.<field>` of the event that started the journey
FACTS = ("tier", "lifecycle_stage", "churn_risk", "locale", "points", "last_message.status", "last_message.delivery")


def holds(condition: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    """`{"field": f, <operator>: value}` with one of equals, in, at_least, at_most, exists."""
    value = facts.get(condition["field"])
    operator = next(name for name in ("exists", "equals", "in", "at_least", "at_most")
                    if condition.get(name) is not None)
    expected = condition[operator]
    if operator == "exists":
        return (value is not None) == bool(expected)
    if value is None:
        return False
    if operator == "equals":
        return bool(value == expected)
    if operator == "in":
        return value in expected
    try:
        return bool(value >= expected) if operator == "at_least" else bool(value <= expected)
    except TypeError:  # comparing a number with text: the condition does not hold
        return False


def facts_for(audience: Mapping[str, Any], points: int, event: Mapping[str, Any],
              last_message: Mapping[str, Any] | None) -> dict[str, Any]:
    """The flat names `holds` looks up."""
    facts = {name: audience.get(name) for name in ("tier", "lifecycle_stage", "churn_risk", "locale")}
    facts["points"] = points
    facts.update({f"event.{key}": value for key, value in event.items()})
    facts["last_message.status"] = (last_message or {}).get("status")
    facts["last_message.delivery"] = (last_message or {}).get("delivery_status")
    return facts


# --- definition checks beyond the shape of each step ---------------------------------------------------

def definition_problems(definition: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for what makes a definition unusable: repeated step ids, branches to unknown or
    earlier steps, a wait as the last step."""
    problems: list[tuple[str, str]] = []
    steps = definition["steps"]
    seen: dict[str, int] = {}
    for position, step in enumerate(steps):
        if step["id"] in seen:
            problems.append((f"steps.{position}.id", f"step id {step['id']!r} is used by step {seen[step['id']]} too"))
        seen.setdefault(step["id"], position)
    for position, step in enumerate(steps):
        if step["type"] == "branch":
            for key in ("then", "else"):
                target = step.get(key)
                if target is None or target == END:
                    continue
                if target not in seen:
                    problems.append((f"steps.{position}.{key}", f"step {step['id']!r} goes to unknown step {target!r}"))
                elif seen[target] <= position:
                    problems.append((f"steps.{position}.{key}",
                                     f"step {step['id']!r} goes back to {target!r}; branches only go forward"))
    if steps and steps[-1]["type"] == "wait":
        problems.append((f"steps.{len(steps) - 1}", "a journey cannot end with a wait"))
    return problems
