"""A/B arms and holdout are stable per customer and follow the weights; schedules land where they should."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta, timezone

from services.engagement.campaign_rules import (
    BUCKETS,
    HOLDOUT,
    Arm,
    arm_bounds,
    assign,
    local_send_time,
    next_cron_run,
    zone_timing,
)
from services.engagement.policy import ContactPolicy

ARMS = [Arm("A", 1), Arm("B", 3)]


def test_a_customer_always_lands_in_the_same_arm_of_a_campaign() -> None:
    assert {assign("cmp-1", "c-42", ARMS, 10) for _ in range(5)} == {assign("cmp-1", "c-42", ARMS, 10)}


def test_arms_follow_their_weights_and_the_holdout_its_share() -> None:
    counts = Counter(assign("cmp-1", f"c-{n}", ARMS, 10) for n in range(20_000))
    assert abs(counts[HOLDOUT] / 20_000 - 0.10) < 0.01
    assert abs(counts["B"] / (counts["A"] + counts["B"]) - 0.75) < 0.02


def test_no_holdout_means_everyone_gets_a_variant() -> None:
    assert HOLDOUT not in {assign("cmp-2", f"c-{n}", ARMS, 0) for n in range(1000)}


def test_cron_runs_strictly_after_the_given_time_in_utc() -> None:
    start = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
    assert next_cron_run("0 9 * * *", start) == datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
    assert next_cron_run("*/15 * * * *", start) == datetime(2026, 11, 24, 9, 15, tzinfo=timezone.utc)


def test_local_time_sends_at_that_hour_in_each_customers_zone() -> None:
    run = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
    assert local_send_time(run, time(10, 0), "Asia/Tokyo", "UTC") == datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)
    assert local_send_time(run, time(10, 0), "America/New_York", "UTC") == datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)
    assert local_send_time(run, time(10, 0), None, "Europe/Paris") == datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


def test_arm_bounds_give_the_holdout_its_share_then_each_variant_its_weight() -> None:
    bounds = arm_bounds(ARMS, 20)
    assert [name for name, _ in bounds] == [HOLDOUT, "A", "B"]
    assert [upper / BUCKETS for _, upper in bounds] == [0.2, 0.4, 1.0]


POLICY = ContactPolicy()  # quiet from 21:00 to 08:00 local time
NOON = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def test_a_zone_in_daytime_is_due_at_the_run_and_one_in_quiet_hours_when_they_end() -> None:
    paris = zone_timing(NOON, None, None, "Europe/Paris", POLICY, NOON)
    tokyo = zone_timing(NOON, None, None, "Asia/Tokyo", POLICY, NOON)  # 21:00 there
    assert (paris.due_at, paris.quiet) == (NOON, False)
    assert (tokyo.due_at, tokyo.quiet) == (datetime(2026, 11, 24, 23, 0, tzinfo=timezone.utc), True)


def test_a_zone_whose_quiet_hours_outlast_the_expiry_or_whose_send_time_passed_it_is_suppressed() -> None:
    tokyo = zone_timing(NOON, None, timedelta(hours=2), "Asia/Tokyo", POLICY, NOON)
    late = zone_timing(NOON - timedelta(hours=3), None, timedelta(hours=2), "Europe/Paris", POLICY, NOON)
    assert tokyo.suppression == "quiet_hours_until_expiry"
    assert late.suppression == "expired"


def test_local_time_zones_decide_at_their_send_time_and_count_caps_back_from_it() -> None:
    tokyo = zone_timing(NOON, time(10, 0), None, "Asia/Tokyo", POLICY, NOON)
    assert tokyo.decided_at == tokyo.due_at == datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)
    assert tokyo.window_start(timedelta(days=1)) == datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)
