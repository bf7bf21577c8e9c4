"""The complaint case state machine, SLA deadlines, and when a response needs a case."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.feedback import domain

OPENED = datetime(2026, 11, 24, 8, tzinfo=UTC)
HOURS = {"critical": 4, "high": 24, "medium": 72, "low": 168}
FACTORS = {"high-value": 0.5, "potential": 0.75, "ordinary": 1.0}


@pytest.mark.parametrize(("current", "target"), [("open", "in_progress"), ("open", "resolved"),
                                                 ("in_progress", "resolved"), ("resolved", "closed"),
                                                 ("resolved", "open"), ("closed", "open")])
def test_allowed_moves_reach_their_target(current: str, target: str) -> None:
    assert domain.transition(current, target, resolution="refund issued") == target


@pytest.mark.parametrize(("current", "target"), [("open", "closed"), ("in_progress", "open"), ("closed", "resolved"),
                                                 ("closed", "in_progress"), ("resolved", "in_progress"),
                                                 ("open", "open")])
def test_other_moves_are_invalid_transitions(current: str, target: str) -> None:
    with pytest.raises(domain.InvalidTransition, match=f"a {current} case cannot become {target}"):
        domain.transition(current, target, resolution="x")


def test_a_case_is_only_resolved_with_a_resolution() -> None:
    with pytest.raises(ValueError, match="resolution"):
        domain.transition("in_progress", "resolved")


def test_the_deadline_follows_from_the_severity() -> None:
    assert domain.sla_due_at(OPENED, "high", HOURS) == OPENED + timedelta(hours=24)


def test_high_value_customers_are_answered_faster() -> None:
    assert domain.sla_due_at(OPENED, "high", HOURS, tier="high-value", tier_factors=FACTORS) == OPENED + timedelta(hours=12)
    assert domain.sla_due_at(OPENED, "critical", HOURS, tier="potential", tier_factors=FACTORS) == OPENED + timedelta(hours=3)
    assert domain.sla_due_at(OPENED, "low", HOURS, tier=None, tier_factors=FACTORS) == OPENED + timedelta(hours=168)


def test_only_active_cases_past_their_deadline_breach_it() -> None:
    due = OPENED + timedelta(hours=4)
    later = due + timedelta(minutes=1)
    assert domain.breaches_sla("open", due, later)
    assert domain.breaches_sla("in_progress", due, later)
    assert not domain.breaches_sla("resolved", due, later)
    assert not domain.breaches_sla("open", due, due)


@pytest.mark.parametrize(("score", "tier", "risk", "stage", "expected"), [
    (6, "high-value", None, None, True), (0, "ordinary", "high", None, True), (3, None, None, "at-risk", True),
    (7, "high-value", "high", "at-risk", False), (2, "ordinary", "low", "loyal", False), (5, None, None, None, False),
])
def test_a_detractor_who_is_valuable_or_at_risk_needs_a_case(score: int, tier: str | None, risk: str | None,
                                                             stage: str | None, expected: bool) -> None:
    assert domain.needs_follow_up_case("nps", score, tier=tier, churn_risk=risk, stage=stage) is expected


def test_a_low_csat_is_not_an_nps_detractor() -> None:
    assert not domain.needs_follow_up_case("csat", 1, tier="high-value", churn_risk=None, stage=None)


def test_nobody_is_invited_again_within_the_cooldown() -> None:
    assert domain.may_invite(None, OPENED, 30)
    assert not domain.may_invite(OPENED - timedelta(days=29), OPENED, 30)
    assert domain.may_invite(OPENED - timedelta(days=30), OPENED, 30)
