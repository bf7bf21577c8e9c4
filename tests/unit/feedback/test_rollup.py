"""Counting scores per day and folding days into weeks, months and groups."""
from __future__ import annotations

from datetime import UTC, date, datetime

from services.feedback.rollup import (
    Counts,
    ScoredResponse,
    buckets,
    counts_of,
    daily_counts,
    period_start,
)


def answer(day: int, score: int | None, kind: str = "nps", tier: str | None = "ordinary", hour: int = 12) -> ScoredResponse:
    return ScoredResponse(datetime(2026, 11, day, hour, tzinfo=UTC), "s-1", tier, "web", kind, score)


def test_each_score_counts_into_its_category() -> None:
    assert counts_of("nps", 9) == Counts(scored=1, promoters=1, score_sum=9)
    assert counts_of("nps", 6) == Counts(scored=1, detractors=1, score_sum=6)
    assert counts_of("nps", 7) == Counts(scored=1, score_sum=7)
    assert counts_of("csat", 4) == Counts(scored=1, satisfied=1, score_sum=4)
    assert counts_of("ces", 3) == Counts(scored=1, score_sum=3)
    assert counts_of("other", None) == Counts()


def test_responses_of_one_utc_day_and_key_share_a_row() -> None:
    days = daily_counts([answer(2, 10, hour=0), answer(2, 0, hour=23), answer(3, 8), answer(3, 9, tier=None)])
    assert days[(date(2026, 11, 2), "s-1", "ordinary", "web", "nps")] == Counts(2, 1, 1, 0, 10)
    assert (date(2026, 11, 3), "s-1", "", "web", "nps") in days
    assert len(days) == 3


def test_periods_start_on_the_day_the_monday_or_the_first_of_the_month() -> None:
    wednesday = date(2026, 11, 11)
    assert period_start(wednesday, "day") == "2026-11-11"
    assert period_start(wednesday, "week") == "2026-11-09"
    assert period_start(date(2026, 11, 9), "week") == "2026-11-09"
    assert period_start(wednesday, "month") == "2026-11-01"
    assert period_start(wednesday, None) is None


def test_days_fold_into_weeks_and_groups() -> None:
    days = daily_counts([answer(2, 10), answer(4, 0, tier="high-value"), answer(11, 9), answer(12, 3)])
    weekly = buckets(days, "week", None)
    assert [(b.period, b.counts.scored, b.counts.promoters, b.counts.detractors) for b in weekly] == [
        ("2026-11-02", 2, 1, 1), ("2026-11-09", 2, 1, 1)]
    by_tier = buckets(days, None, 2)
    assert [(b.group, b.counts.scored) for b in by_tier] == [("high-value", 1), ("ordinary", 3)]


def test_subtracting_counts_takes_them_back_out() -> None:
    total = Counts(3, 2, 1, 0, 20)
    total.add(Counts(1, 1, 0, 0, 10), sign=-1)
    assert total == Counts(2, 1, 1, 0, 10)
