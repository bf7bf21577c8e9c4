"""Campaign rules, pure: who falls in the holdout or which A/B variant, when a campaign runs, and when
it reaches the customers of each time zone."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from services.engagement.policy import ContactPolicy, quiet_until

HOLDOUT = "holdout"


@dataclass(frozen=True)
class Arm:
    name: str
    weight: int


BUCKETS = 2**64
"""Buckets are the first 8 bytes of sha256("<campaign_id>:<customer_id>"), read as an unsigned integer."""


def bucket(campaign_id: str, customer_id: str) -> int:
    """A stable number in [0, 2**64) per campaign and customer: the same customer always gets the same arm."""
    digest = hashlib.sha256(f"{campaign_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def arm_bounds(arms: Sequence[Arm], holdout_percent: float) -> list[tuple[str, int]]:
    """Each arm with the (exclusive) upper end of its bucket range, in order: the holdout takes the first
    `holdout_percent` of buckets, the variants share the rest in proportion to their weights."""
    holdout = Fraction(holdout_percent) / 100
    total = sum(arm.weight for arm in arms)
    bounds = [(HOLDOUT, int(holdout * BUCKETS))] if holdout else []
    reached = 0
    for arm in arms:
        reached += arm.weight
        bounds.append((arm.name, int((holdout + (1 - holdout) * Fraction(reached, total)) * BUCKETS)))
    return bounds


def assign(campaign_id: str, customer_id: str, arms: Sequence[Arm], holdout_percent: float) -> str:
    """`holdout` for the first `holdout_percent` of buckets, else a variant in proportion to its weight."""
    point = bucket(campaign_id, customer_id)
    return next(name for name, upper in arm_bounds(arms, holdout_percent) if point < upper)


def next_cron_run(expression: str, after: datetime) -> datetime:
    """The first time the cron expression (UTC) fires strictly after `after`."""
    return croniter(expression, after).get_next(datetime)  # type: ignore[no-any-return]


def is_valid_cron(expression: str) -> bool:
    return croniter.is_valid(expression)


def local_send_time(run_at: datetime, local: time, timezone_name: str | None, fallback_zone: str) -> datetime:
    """The first moment at or after `run_at` when the customer's clock shows `local`."""
    zone = _zone(timezone_name) or _zone(fallback_zone) or ZoneInfo("UTC")
    here = run_at.astimezone(zone)
    candidate = datetime.combine(here.date(), local, tzinfo=zone)
    if candidate < here:
        candidate = datetime.combine(here.date() + timedelta(days=1), local, tzinfo=zone)
    return candidate.astimezone(run_at.tzinfo)


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True)
class ZoneTiming:
    """When one campaign run reaches the customers of one time zone, and what the policy's clock says then."""

    send_at: datetime
    """The run's time, or for `local_time` campaigns the first moment after it their clock shows that time."""
    decided_at: datetime
    """When the policy decides for them: the send time, or now when that has passed."""
    due_at: datetime
    """When their message is due: the decision time, or when quiet hours end there."""
    expires_at: datetime | None
    quiet: bool
    suppression: str | None = None
    """`expired` or `quiet_hours_until_expiry` when nobody of the zone can be reached in time."""

    def window_start(self, period: timedelta) -> datetime:
        """Contacts after this moment count against a cap over `period`."""
        return self.decided_at - period


def zone_timing(run_at: datetime, local: time | None, expires_after: timedelta | None, zone: str | None,
                policy: ContactPolicy, now: datetime) -> ZoneTiming:
    """The dispatcher's timing decisions (expiry, quiet hours) for one zone, made ahead of the run."""
    send_at = run_at if local is None else local_send_time(run_at, local, zone, policy.default_timezone)
    decided_at = max(now, send_at)
    expires_at = send_at + expires_after if expires_after else None
    if expires_at is not None and expires_at <= decided_at:
        return ZoneTiming(send_at, decided_at, decided_at, expires_at, quiet=False, suppression="expired")
    resume = quiet_until(decided_at, zone or policy.default_timezone, policy)
    if resume is None:
        return ZoneTiming(send_at, decided_at, decided_at, expires_at, quiet=False)
    if expires_at is not None and resume >= expires_at:
        return ZoneTiming(send_at, decided_at, decided_at, expires_at, quiet=True,
                          suppression="quiet_hours_until_expiry")
    return ZoneTiming(send_at, decided_at, resume, expires_at, quiet=True)
