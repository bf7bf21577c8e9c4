"""The contact policy decides send / defer / suppress from the projection, the history and the policy."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from services.engagement.policy import (
    Caps,
    ContactPolicy,
    PastContact,
    QuietHours,
    Recipient,
    TierCaps,
    choose_channel,
    decide,
    quiet_until,
)

NOON_UTC = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
ALL_CONSENTS = frozenset((c, p) for c in ("email", "sms", "push") for p in ("marketing", "service"))


def someone(tier: str | None = "ordinary", tz: str = "UTC", **extra) -> Recipient:  # type: ignore[no-untyped-def]
    return Recipient("c-1", timezone=tz, tier=tier, consents=extra.pop("consents", ALL_CONSENTS), **extra)


def contacts(*hours_ago: float, channel: str = "email", priority: str = "promotion") -> list[PastContact]:
    return [PastContact(channel, priority, NOON_UTC - timedelta(hours=h)) for h in hours_ago]


def policy(**changes) -> ContactPolicy:  # type: ignore[no-untyped-def]
    return ContactPolicy(**changes)


def test_a_first_promotion_to_a_consenting_customer_is_sent() -> None:
    assert decide("email", "promotion", someone(), [], policy(), NOON_UTC).outcome == "send"


def test_high_value_customers_may_hear_from_us_more_often_than_low_value_ones() -> None:
    history = contacts(30, channel="sms") + contacts(60, channel="push")  # two this week, none today
    high = decide("email", "promotion", someone("high-value"), history, policy(), NOON_UTC)
    low = decide("email", "promotion", someone("low-value"), history, policy(), NOON_UTC)
    assert high.outcome == "send"
    assert (low.outcome, low.reason) == ("suppress", "frequency_cap:all_channels:week")


def test_the_per_channel_daily_cap_suppresses_a_second_email_but_not_an_sms() -> None:
    rules = policy(caps={"default": TierCaps(per_channel=Caps(day=1), across_channels=Caps(day=5))})
    history = contacts(2, channel="email")
    email = decide("email", "promotion", someone(None), history, rules, NOON_UTC)
    sms = decide("sms", "promotion", someone(None), history, rules, NOON_UTC)
    assert (email.outcome, email.reason) == ("suppress", "frequency_cap:channel:day")
    assert sms.outcome == "send"


def test_contacts_older_than_the_window_no_longer_count() -> None:
    rules = policy(caps={"default": TierCaps(across_channels=Caps(day=1))})
    assert decide("email", "promotion", someone(None), contacts(25), rules, NOON_UTC).outcome == "send"


def test_transactional_and_service_messages_pass_marketing_caps() -> None:
    rules = policy(caps={"default": TierCaps(across_channels=Caps(day=0, week=0, month=0))})
    assert decide("email", "transactional", someone(None), contacts(1), rules, NOON_UTC).outcome == "send"
    assert decide("email", "service", someone(None), contacts(1), rules, NOON_UTC).outcome == "send"
    assert decide("email", "promotion", someone(None), [], rules, NOON_UTC).outcome == "suppress"


def test_service_contacts_do_not_use_up_the_marketing_budget() -> None:
    rules = policy(caps={"default": TierCaps(across_channels=Caps(day=1))})
    history = contacts(1, priority="service") + contacts(2, priority="transactional")
    assert decide("email", "promotion", someone(None), history, rules, NOON_UTC).outcome == "send"


def test_a_win_back_takes_the_last_contact_of_a_budget_a_promotion_may_not() -> None:
    rules = policy(caps={"default": TierCaps(across_channels=Caps(week=3))}, win_back_reserve=Caps(week=1))
    history = contacts(30, 60)  # 2 of 3 used this week
    promotion = decide("email", "promotion", someone(None), history, rules, NOON_UTC)
    win_back = decide("email", "win_back", someone(None), history, rules, NOON_UTC)
    assert (promotion.outcome, promotion.reason) == ("suppress", "frequency_cap:all_channels:week")
    assert win_back.outcome == "send"
    full = decide("email", "win_back", someone(None), contacts(30, 60, 70), rules, NOON_UTC)
    assert full.outcome == "suppress"


def test_marketing_needs_marketing_consent_on_that_channel() -> None:
    only_service = frozenset({("email", "service")})
    decision = decide("email", "promotion", someone(consents=only_service), [], policy(), NOON_UTC)
    assert (decision.outcome, decision.reason) == ("suppress", "no_consent:email:marketing")
    assert decide("email", "service", someone(consents=only_service), [], policy(), NOON_UTC).outcome == "send"


def test_do_not_contact_stops_everything_but_transactional_messages() -> None:
    barred = someone(do_not_contact=True)
    for priority in ("service", "win_back", "promotion"):
        decision = decide("email", priority, barred, [], policy(), NOON_UTC)
        assert (decision.outcome, decision.reason) == ("suppress", "do_not_contact")
    assert decide("email", "transactional", barred, [], policy(), NOON_UTC).outcome == "send"


def test_an_unknown_customer_has_given_no_consent() -> None:
    decision = decide("preferred", "promotion", Recipient("c-unknown"), [], policy(), NOON_UTC)
    assert decision.outcome == "suppress" and decision.reason.startswith("no_consent")


def test_preferred_picks_the_first_consented_channel_in_the_policy_order() -> None:
    sms_only = someone(consents=frozenset({("sms", "marketing"), ("email", "service")}))
    assert choose_channel("preferred", sms_only, "promotion", policy()) == "sms"
    assert choose_channel("preferred", sms_only, "service", policy()) == "email"
    assert choose_channel("push", sms_only, "promotion", policy()) == "push"


def test_quiet_hours_defer_until_the_local_morning_in_the_customers_time_zone() -> None:
    # 12:00 UTC is 21:00 in Tokyo: inside 21:00-08:00, so the message waits until 08:00 Tokyo = 23:00 UTC.
    decision = decide("email", "promotion", someone(tz="Asia/Tokyo"), [], policy(), NOON_UTC)
    assert (decision.outcome, decision.reason) == ("defer", "quiet_hours")
    assert decision.until == datetime(2026, 11, 24, 23, 0, tzinfo=timezone.utc)
    assert decide("email", "promotion", someone(tz="Europe/Paris"), [], policy(), NOON_UTC).outcome == "send"


@pytest.mark.parametrize("local_time, expected_wait", [
    (time(23, 30), timedelta(hours=8, minutes=30)),   # before midnight: until tomorrow 08:00
    (time(2, 0), timedelta(hours=6)),                  # after midnight: until 08:00 the same day
    (time(21, 0), timedelta(hours=11)),                # the first quiet minute
])
def test_quiet_hours_span_midnight(local_time: time, expected_wait: timedelta) -> None:
    now = datetime.combine(NOON_UTC.date(), local_time, tzinfo=timezone.utc)
    assert quiet_until(now, "UTC", policy()) == now + expected_wait


def test_the_end_of_quiet_hours_is_not_quiet_and_a_daytime_window_works_too() -> None:
    assert quiet_until(datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc), "UTC", policy()) is None
    lunch = policy(quiet_hours=QuietHours(start=time(12, 0), end=time(14, 0)))
    assert quiet_until(NOON_UTC, "UTC", lunch) == NOON_UTC + timedelta(hours=2)
    assert quiet_until(NOON_UTC - timedelta(minutes=1), "UTC", lunch) is None


def test_quiet_hours_follow_daylight_saving_in_new_york() -> None:
    # 2026-03-08 02:00 is when New York springs forward; 01:30 EST is quiet, the morning is 08:00 EDT (12:00 UTC).
    now = datetime(2026, 3, 8, 6, 30, tzinfo=timezone.utc)
    assert quiet_until(now, "America/New_York", policy()) == datetime(2026, 3, 8, 12, 0, tzinfo=timezone.utc)


def test_transactional_messages_ignore_quiet_hours_and_an_unknown_zone_uses_the_default() -> None:
    assert decide("sms", "transactional", someone(tz="Asia/Tokyo"), [], policy(), NOON_UTC).outcome == "send"
    assert decide("email", "promotion", someone(tz="Mars/Olympus"), [],
                  policy(default_timezone="Asia/Tokyo"), NOON_UTC).outcome == "defer"


def test_a_policy_without_default_caps_or_with_an_unknown_tier_is_refused() -> None:
    with pytest.raises(ValueError):
        ContactPolicy(caps={"high-value": TierCaps()})
    with pytest.raises(ValueError):
        ContactPolicy(caps={"default": TierCaps(), "platinum": TierCaps()})
