"""A journey starts when a customer moves into its trigger value, not when the value is re-stated."""
from services.engagement.journey_rules import Change, triggers

VIP = {"event": "tier-changed", "to": "high-value"}


def test_an_upgrade_into_the_trigger_value_starts_the_journey() -> None:
    assert triggers(VIP, Change("tier-changed", "potential", "high-value"))
    assert triggers(VIP, Change("tier-changed", None, "high-value"))


def test_restating_the_same_value_or_another_event_starts_nothing() -> None:
    assert not triggers(VIP, Change("tier-changed", "high-value", "high-value"))
    assert not triggers(VIP, Change("tier-changed", "high-value", "ordinary"))
    assert not triggers(VIP, Change("lifecycle-stage-changed", "loyal", "high-value"))


def test_from_restricts_the_previous_values() -> None:
    win_back = {"event": "lifecycle-stage-changed", "to": "at-risk", "from": ["loyal", "repeat"]}
    assert triggers(win_back, Change("lifecycle-stage-changed", "loyal", "at-risk"))
    assert not triggers(win_back, Change("lifecycle-stage-changed", "first-time", "at-risk"))


def test_a_leap_day_birthday_is_kept_on_the_28th_in_other_years() -> None:
    from datetime import date

    from services.engagement.journey_rules import is_birthday
    assert is_birthday("02-29", date(2028, 2, 29)) and not is_birthday("02-29", date(2028, 2, 28))
    assert is_birthday("02-29", date(2027, 2, 28))
    assert is_birthday("11-24", date(2026, 11, 24)) and not is_birthday("11-24", date(2026, 11, 25))
