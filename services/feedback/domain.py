"""Feedback's rules for cases and invitations: pure functions, no I/O."""
from __future__ import annotations

from datetime import datetime, timedelta

#: Case statuses and the moves between them. Reopening sends a resolved or closed case back to work.
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "resolved"}),
    "in_progress": frozenset({"resolved"}),
    "resolved": frozenset({"closed", "open"}),
    "closed": frozenset({"open"}),
}
ACTIVE_STATUSES = ("open", "in_progress")
DETRACTOR_MAX = 6
PROMOTER_MIN = 9


class InvalidTransition(Exception):
    def __init__(self, current: str, target: str):
        allowed = ", ".join(sorted(TRANSITIONS.get(current, ()))) or "none"
        super().__init__(f"a {current} case cannot become {target}; allowed next: {allowed}")
        self.current = current
        self.target = target


def transition(current: str, target: str, *, resolution: str | None = None) -> str:
    """The case's next status; a case is only resolved with a resolution."""
    if target not in TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(current, target)
    if target == "resolved" and not resolution:
        raise ValueError("a resolution is required to resolve a case")
    return target


def sla_due_at(opened_at: datetime, severity: str, sla_hours: dict[str, int], *, tier: str | None = None,
               tier_factors: dict[str, float] | None = None) -> datetime:
    """A case must be answered within the hours its severity allows, sooner for valuable customers."""
    factor = (tier_factors or {}).get(tier or "", 1.0)
    return opened_at + timedelta(hours=sla_hours[severity] * factor)


def breaches_sla(status: str, due_at: datetime, now: datetime) -> bool:
    return status in ACTIVE_STATUSES and now > due_at


def within_sla(resolved_at: datetime, due_at: datetime) -> bool:
    return resolved_at <= due_at


def is_detractor(kind: str, score: int | None) -> bool:
    return kind == "nps" and score is not None and score <= DETRACTOR_MAX


def needs_follow_up_case(kind: str, score: int | None, *, tier: str | None, churn_risk: str | None,
                         stage: str | None) -> bool:
    """A detractor whom the business cannot afford to lose gets a case of their own."""
    at_risk = churn_risk == "high" or stage == "at-risk"
    return is_detractor(kind, score) and (tier == "high-value" or at_risk)


def follow_up_severity(tier: str | None) -> str:
    return "high" if tier == "high-value" else "medium"


def may_invite(last_invited_at: datetime | None, now: datetime, cooldown_days: int) -> bool:
    """Nobody is surveyed again within the cooldown of their last invitation."""
    return last_invited_at is None or now - last_invited_at >= timedelta(days=cooldown_days)
