"""Journeys start on the events and days their trigger names, and advance step by step: actions in order,
waits by duration or until a local time, forward branches on the customer's facts."""
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from services.engagement.journey_rules import (
    GrantCoupon,
    GrantPoints,
    JourneyEvent,
    Send,
    advance,
    birthdays_on,
    definition_problems,
    facts_for,
    holds,
    holiday_on,
    is_birthday,
    matches,
    next_local_time,
)
from services.engagement.schemas_journeys import JourneyWrite

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
IN_UTC = ZoneInfo("UTC")
VIP = {"event": "tier-changed", "to": "high-value"}


def tier(previous: str | None, current: str) -> JourneyEvent:
    return JourneyEvent("tier-changed", "c-1", "e-1", {"previous": previous, "current": current})


def journey(*steps: dict, **fields) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return JourneyWrite.model_validate({"trigger": VIP, "steps": list(steps), **fields}).model_dump(mode="json", by_alias=True)


SEND = {"id": "thanks", "type": "send", "priority": "service", "body": "Thank you"}


# --- triggers ---

def test_an_upgrade_into_the_trigger_value_starts_the_journey() -> None:
    assert matches(VIP, tier("potential", "high-value"))
    assert matches(VIP, tier(None, "high-value"))


def test_restating_the_same_value_or_another_event_starts_nothing() -> None:
    assert not matches(VIP, tier("high-value", "high-value"))
    assert not matches(VIP, tier("high-value", "ordinary"))
    assert not matches(VIP, JourneyEvent("lifecycle-stage-changed", "c-1", "e-1", {"previous": "loyal", "current": "high-value"}))


def test_from_restricts_the_previous_values() -> None:
    win_back = {"event": "lifecycle-stage-changed", "to": "at-risk", "from": ["loyal", "repeat"]}
    stage = lambda previous: JourneyEvent("lifecycle-stage-changed", "c", "e", {"previous": previous, "current": "at-risk"})
    assert matches(win_back, stage("loyal"))
    assert not matches(win_back, stage("first-time"))


def test_a_downgrade_trigger_fires_on_any_lower_tier_but_not_on_upgrades_or_first_assignments() -> None:
    downgrade = {"event": "tier-changed", "direction": "down"}
    assert matches(downgrade, tier("high-value", "potential")) and matches(downgrade, tier("ordinary", "low-value"))
    assert not matches(downgrade, tier("ordinary", "potential"))
    assert not matches(downgrade, tier(None, "low-value"))


def test_a_first_purchase_trigger_ignores_later_orders() -> None:
    first = {"event": "purchase-recorded", "first_purchase": True}
    assert matches(first, JourneyEvent("purchase-recorded", "c", "e", {"first_purchase": True}))
    assert not matches(first, JourneyEvent("purchase-recorded", "c", "e", {"first_purchase": False}))
    assert matches({"event": "purchase-recorded"}, JourneyEvent("purchase-recorded", "c", "e", {"first_purchase": False}))


def test_a_detractor_trigger_takes_nps_scores_up_to_six_only() -> None:
    detractor = {"event": "feedback-received", "kind": ["nps"], "score_at_most": 6}
    feedback = lambda kind, score: JourneyEvent("feedback-received", "c", "e", {"kind": kind, "score": score})
    assert matches(detractor, feedback("nps", 0)) and matches(detractor, feedback("nps", 6))
    assert not matches(detractor, feedback("nps", 7))
    assert not matches(detractor, feedback("csat", 1))
    assert not matches(detractor, feedback("nps", None))


def test_a_complaint_trigger_can_be_limited_to_severities() -> None:
    serious = {"event": "complaint-opened", "severity": ["high", "critical"]}
    assert matches(serious, JourneyEvent("complaint-opened", "c", "e", {"severity": "critical", "category": "billing"}))
    assert not matches(serious, JourneyEvent("complaint-opened", "c", "e", {"severity": "low", "category": "billing"}))


def test_a_leap_day_birthday_is_kept_on_the_28th_in_other_years() -> None:
    assert is_birthday("02-29", date(2028, 2, 29)) and not is_birthday("02-29", date(2028, 2, 28))
    assert is_birthday("02-29", date(2027, 2, 28))
    assert is_birthday("11-24", date(2026, 11, 24)) and not is_birthday("11-24", date(2026, 11, 25))
    assert birthdays_on(date(2027, 2, 28)) == {"02-28", "02-29"}


def test_holidays_recur_every_year_or_fall_on_one_dated_day() -> None:
    calendar = [{"date": "12-25", "name": "Christmas"}, {"date": "2026-11-26", "name": "Thanksgiving"}]
    assert holiday_on(calendar, date(2031, 12, 25))["name"] == "Christmas"  # type: ignore[index]
    assert holiday_on(calendar, date(2026, 11, 26))["name"] == "Thanksgiving"  # type: ignore[index]
    assert holiday_on(calendar, date(2027, 11, 26)) is None


# --- steps ---

def test_steps_run_in_order_until_a_wait_and_resume_after_it() -> None:
    definition = journey(SEND, {"id": "later", "type": "wait", "duration": "P7D"},
                         {"id": "survey", "type": "send", "priority": "service", "body": "How was it?"})
    first = advance(definition, None, {}, NOW, IN_UTC)
    assert [a.step_id for a in first.actions] == ["thanks"] and isinstance(first.actions[0], Send)
    assert (first.next_step, first.due_at, first.outcome) == ("survey", NOW + timedelta(days=7), "active")
    second = advance(definition, first.next_step, {}, first.due_at, IN_UTC)  # type: ignore[arg-type]
    assert [a.step_id for a in second.actions] == ["survey"]
    assert (second.next_step, second.outcome) == (None, "completed")


def test_a_wait_until_a_local_time_ends_at_that_time_in_the_customers_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")  # 09:30 UTC is 18:30 in Tokyo: the next 10:00 there is tomorrow
    definition = journey({"id": "morning", "type": "wait", "until_local_time": "10:00"}, SEND)
    progress = advance(definition, None, {}, NOW, tokyo)
    assert progress.due_at == datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    assert next_local_time(NOW, datetime(2026, 1, 1, 9, 30).time(), IN_UTC) == NOW  # now is on time
    after_a_day = journey({"id": "w", "type": "wait", "duration": "P1D", "until_local_time": "08:00"}, SEND)
    assert advance(after_a_day, None, {}, NOW, IN_UTC).due_at == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def test_a_branch_jumps_forward_when_its_condition_holds_and_goes_on_otherwise() -> None:
    definition = journey({"id": "is-vip", "type": "branch", "if": {"field": "tier", "in": ["high-value"]}, "then": "vip"},
                         {"id": "points", "type": "grant_points", "points": 50},
                         {"id": "vip", "type": "grant_coupon", "discount": "20%", "prefix": "VIP"})
    vip = advance(definition, None, {"tier": "high-value"}, NOW, IN_UTC)
    other = advance(definition, None, {"tier": "ordinary"}, NOW, IN_UTC)
    assert vip.actions == [GrantCoupon("vip", "20%", "VIP", None)]
    assert other.actions == [GrantPoints("points", 50), GrantCoupon("vip", "20%", "VIP", None)]


def test_a_branch_to_end_finishes_the_journey_without_the_remaining_steps() -> None:
    definition = journey({"id": "opened", "type": "branch", "if": {"field": "last_message.delivery", "equals": "opened"},
                          "then": "end"}, SEND)
    assert advance(definition, None, {"last_message.delivery": "opened"}, NOW, IN_UTC).actions == []
    assert len(advance(definition, None, {"last_message.delivery": None}, NOW, IN_UTC).actions) == 1


def test_an_instance_waiting_before_a_removed_step_exits() -> None:
    progress = advance(journey(SEND), "gone", {}, NOW, IN_UTC)
    assert (progress.outcome, progress.reason, progress.actions) == ("exited", "step_removed:gone", [])


def test_conditions_compare_numbers_test_presence_and_never_raise() -> None:
    facts = facts_for({"tier": "potential"}, 120, {"score": 3}, None)
    assert holds({"field": "points", "at_least": 100}, facts) and not holds({"field": "points", "at_most": 100}, facts)
    assert holds({"field": "event.score", "at_most": 6}, facts)
    assert holds({"field": "last_message.status", "exists": False}, facts)
    assert not holds({"field": "tier", "at_least": 3}, facts)
    assert not holds({"field": "churn_risk", "equals": "high"}, facts)


# --- definitions ---

def test_branches_must_go_forward_to_known_steps_and_ids_must_be_unique() -> None:
    definition = {"steps": [SEND, {"id": "b", "type": "branch", "if": {"field": "tier", "exists": True},
                                   "then": "thanks", "else": "nowhere"}, SEND]}
    assert definition_problems(definition) == [
        ("steps.2.id", "step id 'thanks' is used by step 0 too"),
        ("steps.1.then", "step 'b' goes back to 'thanks'; branches only go forward"),
        ("steps.1.else", "step 'b' goes to unknown step 'nowhere'"),
    ]
    assert definition_problems({"steps": [SEND, {"id": "w", "type": "wait", "duration": "PT1H"}]}) == [
        ("steps.1", "a journey cannot end with a wait")]


def test_the_one_message_form_becomes_a_wait_and_a_send_step() -> None:
    old = JourneyWrite.model_validate({"trigger": VIP, "channel": "email", "priority": "service", "body": "Hi",
                                       "delay_hours": 2}).model_dump(mode="json", by_alias=True)
    assert [(s["id"], s["type"]) for s in old["steps"]] == [("delay", "wait"), ("send", "send")]
    assert old["steps"][0]["duration"] == "PT2H" and old["steps"][1]["channel"] == "email"


@pytest.mark.parametrize("definition, where", [
    ({"trigger": {"event": "tier-changed", "to": "gold"}, "steps": [SEND]}, "trigger.tier-changed"),
    ({"trigger": {"event": "lifecycle-stage-changed", "direction": "down"}, "steps": [SEND]}, "trigger.lifecycle-stage-changed"),
    ({"trigger": VIP, "steps": [{"id": "s", "type": "send"}]}, "steps.0.send"),
    ({"trigger": VIP, "steps": [{"id": "w", "type": "wait"}, SEND]}, "steps.0.wait"),
    ({"trigger": VIP, "steps": [{"id": "w", "type": "wait", "duration": "-PT1H"}, SEND]}, "steps.0.wait.duration"),
    ({"trigger": VIP, "steps": [{"id": "b", "type": "branch", "if": {"field": "shoe_size", "equals": 9}, "then": "end"}]},
     "steps.0.branch.if.field"),
    ({"trigger": VIP, "steps": [SEND], "exit_on": [{"event": "birthday"}]}, "exit_on.0"),
    ({"trigger": {"event": "holiday", "calendar": [{"date": "13-01", "name": "x"}]}, "steps": [SEND]},
     "trigger.holiday.calendar.0.date"),
])
def test_invalid_definitions_name_the_field_at_fault(definition: dict, where: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError) as caught:
        JourneyWrite.model_validate(definition)
    fields = [".".join(str(part) for part in error["loc"]) for error in caught.value.errors()]
    assert any(field.startswith(where) for field in fields), fields
