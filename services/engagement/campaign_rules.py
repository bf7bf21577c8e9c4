"""Campaign rules, pure: who falls in the holdout or which A/B variant, and when a campaign runs."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

HOLDOUT = "holdout"


@dataclass(frozen=True)
class Arm:
    name: str
    weight: int


def bucket(campaign_id: str, customer_id: str) -> float:
    """A stable number in [0, 1) per campaign and customer: the same customer always gets the same arm."""
    digest = hashlib.sha256(f"{campaign_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign(campaign_id: str, customer_id: str, arms: Sequence[Arm], holdout_percent: float) -> str:
    """`holdout` for the first `holdout_percent` of buckets, else a variant in proportion to its weight."""
    point = bucket(campaign_id, customer_id)
    holdout = holdout_percent / 100
    if point < holdout:
        return HOLDOUT
    position = (point - holdout) / (1 - holdout) * sum(arm.weight for arm in arms)
    for arm in arms:
        if position < arm.weight:
            return arm.name
        position -= arm.weight
    return arms[-1].name


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
