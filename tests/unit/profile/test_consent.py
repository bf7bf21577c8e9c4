"""Consent history rules: the latest answer counts, late answers only join the history."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.profile.consent import (
    ConsentAnswer,
    ConsentInFuture,
    check_answer,
    current_answers,
    may_contact,
    supersedes,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def answer(granted: bool, days: int, channel: str = "email", purpose: str = "marketing") -> ConsentAnswer:
    return ConsentAnswer(channel, purpose, granted, "test", T0 + timedelta(days=days))


def test_a_newer_answer_supersedes_and_a_late_older_one_does_not() -> None:
    assert supersedes(answer(False, 2), answer(True, 1))
    assert not supersedes(answer(True, 0), answer(False, 1))
    assert supersedes(answer(True, 0), None)


def test_on_equal_times_the_answer_received_last_wins() -> None:
    assert current_answers([answer(True, 1), answer(False, 1)])[("email", "marketing")].granted is False


def test_each_channel_and_purpose_is_answered_separately() -> None:
    current = current_answers([answer(True, 1), answer(False, 2, purpose="service"), answer(False, 0)])
    assert current[("email", "marketing")].granted is True
    assert current[("email", "service")].granted is False


def test_do_not_contact_overrides_every_grant_and_silence_is_no() -> None:
    current = current_answers([answer(True, 1)])
    assert may_contact(current, "email", "marketing", do_not_contact=False)
    assert not may_contact(current, "email", "marketing", do_not_contact=True)
    assert not may_contact(current, "sms", "marketing", do_not_contact=False)


def test_an_answer_dated_in_the_future_is_refused_beyond_clock_skew() -> None:
    check_answer(answer(True, 0), T0 + timedelta(minutes=-4))
    with pytest.raises(ConsentInFuture):
        check_answer(answer(True, 1), T0)
