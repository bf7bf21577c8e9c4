"""The contact policy: who may hear from us, on which channel, how often and when. Pure rules.

A decision is made for one message at its send time from the customer's projection, their recent
contacts and the policy document. Priority classes, highest first:

- `transactional` (receipts, one-time codes): pass caps, quiet hours and do-not-contact; no consent needed.
- `service` (survey invitations, account notices): pass caps; need `service` consent; wait out quiet hours.
- `win_back`, `promotion` (marketing): need `marketing` consent, count against the tier's caps and wait
  out quiet hours; a promotion may not use the budget kept back for win-backs.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Iterable, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events.vocabulary import Channel

Priority = Literal["transactional", "service", "win_back", "promotion"]
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
MARKETING: frozenset[str] = frozenset({"win_back", "promotion"})
Period = Literal["day", "week", "month"]
PERIODS: dict[Period, timedelta] = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
DEFAULT_TIER = "default"


class Caps(BaseModel):
    """Most marketing contacts in a rolling day, week (7 days) and month (30 days); null is no cap."""

    model_config = ConfigDict(extra="forbid")

    day: int | None = Field(default=None, ge=0)
    week: int | None = Field(default=None, ge=0)
    month: int | None = Field(default=None, ge=0)

    def limit(self, period: Period) -> int | None:
        return getattr(self, period)  # type: ignore[no-any-return]


class TierCaps(BaseModel):
    model_config = ConfigDict(extra="forbid")

    per_channel: Caps = Field(default_factory=Caps)
    """Caps on each channel alone."""
    across_channels: Caps = Field(default_factory=Caps)
    """Caps on all channels together."""


class QuietHours(BaseModel):
    """Local hours in which nobody is contacted; `start` after `end` spans midnight (21:00-08:00)."""

    model_config = ConfigDict(extra="forbid")

    start: time = time(21, 0)
    end: time = time(8, 0)


def _caps(day: int, week: int, month: int, per_channel_day: int, per_channel_week: int) -> TierCaps:
    return TierCaps(per_channel=Caps(day=per_channel_day, week=per_channel_week),
                    across_channels=Caps(day=day, week=week, month=month))


class ContactPolicy(BaseModel):
    """The policy document of `GET/PUT /contact-policy`."""

    model_config = ConfigDict(extra="forbid")

    caps: dict[str, TierCaps] = Field(default_factory=lambda: {
        "high-value": _caps(2, 5, 12, 1, 3),
        "potential": _caps(1, 4, 10, 1, 3),
        "ordinary": _caps(1, 3, 8, 1, 2),
        "low-value": _caps(1, 1, 3, 1, 1),
        DEFAULT_TIER: _caps(1, 2, 6, 1, 2),
    })
    """Marketing caps per value tier; `default` applies to customers without a tier."""
    win_back_reserve: Caps = Field(default_factory=lambda: Caps(week=1, month=1))
    """Of each across-channel budget, how many contacts only a win-back may take."""
    quiet_hours: QuietHours | None = Field(default_factory=QuietHours)
    """Null turns quiet hours off."""
    default_timezone: str = "UTC"
    """For customers whose time zone is unknown."""
    channel_preference: list[Channel] = Field(default_factory=lambda: ["email", "push", "sms", "wechat", "in_app"],
                                              min_length=1)
    """Order in which `preferred` picks the first channel the customer consented to."""

    @model_validator(mode="after")
    def _has_default_caps(self) -> ContactPolicy:
        if DEFAULT_TIER not in self.caps:
            raise ValueError("caps must include a `default` entry for customers without a tier")
        unknown = set(self.caps) - {DEFAULT_TIER, "high-value", "potential", "ordinary", "low-value"}
        if unknown:
            raise ValueError(f"caps: unknown tiers {sorted(unknown)}")
        if not _is_zone(self.default_timezone):
            raise ValueError(f"default_timezone: unknown time zone {self.default_timezone!r}")
        return self

    def caps_for(self, tier: str | None) -> TierCaps:
        return self.caps.get(tier or DEFAULT_TIER) or self.caps[DEFAULT_TIER]


@dataclass(frozen=True)
class Recipient:
    """What the projection knows about a customer, as the policy needs it."""

    customer_id: str
    timezone: str | None = None
    tier: str | None = None
    do_not_contact: bool = False
    consents: frozenset[tuple[str, str]] = frozenset()  # granted (channel, purpose) pairs

    def consented(self, channel: str, purpose: str) -> bool:
        return (channel, purpose) in self.consents


@dataclass(frozen=True)
class PastContact:
    channel: str
    priority: str
    at: datetime


@dataclass(frozen=True)
class Decision:
    outcome: Literal["send", "defer", "suppress"]
    channel: str
    reason: str | None = None
    until: datetime | None = None  # for a deferral: when to try again


def purpose_of(priority: str) -> str | None:
    """The consent purpose a priority class needs; transactional messages need none."""
    if priority in MARKETING:
        return "marketing"
    return "service" if priority == "service" else None


def choose_channel(requested: str, recipient: Recipient, priority: str, policy: ContactPolicy) -> str:
    """`preferred` becomes the first channel in the policy's order the customer consented to."""
    if requested != "preferred":
        return requested
    purpose = purpose_of(priority)
    for channel in policy.channel_preference:
        if purpose is None or recipient.consented(channel, purpose):
            return channel
    return policy.channel_preference[0]


def decide(requested_channel: str, priority: str, recipient: Recipient, history: Iterable[PastContact],
           policy: ContactPolicy, now: datetime) -> Decision:
    """Send now, defer until a time, or suppress with a reason."""
    channel = choose_channel(requested_channel, recipient, priority, policy)
    if priority == "transactional":
        return Decision("send", channel)
    if recipient.do_not_contact:
        return Decision("suppress", channel, "do_not_contact")
    purpose = purpose_of(priority)
    if purpose is not None and not recipient.consented(channel, purpose):
        return Decision("suppress", channel, f"no_consent:{channel}:{purpose}")
    resume = quiet_until(now, recipient.timezone or policy.default_timezone, policy)
    if resume is not None:
        return Decision("defer", channel, "quiet_hours", until=resume)
    if priority in MARKETING:
        exceeded = exceeded_cap(channel, priority, recipient.tier, list(history), policy, now)
        if exceeded is not None:
            return Decision("suppress", channel, exceeded)
    return Decision("send", channel)


def exceeded_cap(channel: str, priority: str, tier: str | None, history: list[PastContact],
                 policy: ContactPolicy, now: datetime) -> str | None:
    """The first cap one more marketing contact would break, as `frequency_cap:<scope>:<period>`."""
    caps = policy.caps_for(tier)
    marketing = [c for c in history if c.priority in MARKETING]
    for period, length in PERIODS.items():
        recent = [c for c in marketing if c.at > now - length]
        on_channel = sum(1 for c in recent if c.channel == channel)
        channel_limit = caps.per_channel.limit(period)
        if channel_limit is not None and on_channel >= channel_limit:
            return f"frequency_cap:channel:{period}"
        total_limit = caps.across_channels.limit(period)
        if total_limit is None:
            continue
        if priority == "promotion":
            total_limit = max(0, total_limit - (policy.win_back_reserve.limit(period) or 0))
        if len(recent) >= total_limit:
            return f"frequency_cap:all_channels:{period}"
    return None


def quiet_until(now: datetime, timezone_name: str, policy: ContactPolicy) -> datetime | None:
    """When quiet hours end, if `now` falls inside them in the customer's local time."""
    quiet = policy.quiet_hours
    if quiet is None or quiet.start == quiet.end:
        return None
    zone = _zone(timezone_name) or _zone(policy.default_timezone) or ZoneInfo("UTC")
    local = now.astimezone(zone)
    moment = local.time().replace(tzinfo=None)
    if quiet.start < quiet.end:
        inside = quiet.start <= moment < quiet.end
    else:
        inside = moment >= quiet.start or moment < quiet.end
    if not inside:
        return None
    resume = datetime.combine(local.date(), quiet.end, tzinfo=zone)
    if resume <= local:
        resume = datetime.combine(local.date() + timedelta(days=1), quiet.end, tzinfo=zone)
    return resume.astimezone(now.tzinfo)


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _is_zone(name: str) -> bool:
    return _zone(name) is not None
