"""Journey triggers, pure: which standing changes start which journey."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

#: event type -> the attribute whose new value a journey's trigger names
TRIGGER_EVENTS = {"tier-changed": "tier", "lifecycle-stage-changed": "stage", "churn-risk-changed": "risk"}


@dataclass(frozen=True)
class Change:
    event_type: str
    previous: str | None
    current: str


def triggers(trigger: dict[str, object], change: Change) -> bool:
    """A journey starts when the event moves the customer *into* the trigger's value (`to`), optionally
    only from the given values (`from`); re-stating the same value starts nothing."""
    if trigger.get("event") != change.event_type or change.previous == change.current:
        return False
    if trigger.get("to") != change.current:
        return False
    allowed_from = trigger.get("from")
    return not allowed_from or change.previous in allowed_from  # type: ignore[operator]


def is_birthday(month_day: str, local_day: date) -> bool:
    """`MM-DD` falls on the customer's local date; 02-29 birthdays are kept on 02-28 in other years."""
    if month_day == "02-29" and not _is_leap(local_day.year):
        return (local_day.month, local_day.day) == (2, 28)
    return local_day.strftime("%m-%d") == month_day


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
