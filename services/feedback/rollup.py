"""Counting scores per day and folding days into weeks and months: pure functions over plain rows."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from services.feedback import domain

#: (day, survey_id, tier, channel, kind); '' stands for an unknown survey or tier.
DayKey = tuple[date, str, str, str, str]


@dataclass
class Counts:
    scored: int = 0
    promoters: int = 0
    detractors: int = 0
    satisfied: int = 0
    score_sum: int = 0

    def add(self, other: Counts, sign: int = 1) -> None:
        self.scored += sign * other.scored
        self.promoters += sign * other.promoters
        self.detractors += sign * other.detractors
        self.satisfied += sign * other.satisfied
        self.score_sum += sign * other.score_sum


@dataclass(frozen=True)
class ScoredResponse:
    responded_at: datetime
    survey_id: str | None
    tier: str | None
    channel: str
    kind: str
    score: int | None


def counts_of(kind: str, score: int | None) -> Counts:
    if score is None:
        return Counts()
    return Counts(scored=1, score_sum=score,
                  promoters=int(kind == "nps" and score >= domain.PROMOTER_MIN),
                  detractors=int(kind == "nps" and score <= domain.DETRACTOR_MAX),
                  satisfied=int(kind == "csat" and score >= 4))


def daily_counts(responses: Iterable[ScoredResponse]) -> dict[DayKey, Counts]:
    days: dict[DayKey, Counts] = {}
    for r in responses:
        key = (r.responded_at.date(), r.survey_id or "", r.tier or "", r.channel, r.kind)
        days.setdefault(key, Counts()).add(counts_of(r.kind, r.score))
    return days


def period_start(day: date, granularity: str | None) -> str | None:
    """The first day of the day, ISO week (Monday) or month `day` falls in, as YYYY-MM-DD."""
    if granularity is None:
        return None
    if granularity == "week":
        day = day - timedelta(days=day.weekday())
    elif granularity == "month":
        day = day.replace(day=1)
    return day.isoformat()


@dataclass
class Bucket:
    period: str | None
    group: str | None
    counts: Counts = field(default_factory=Counts)


def buckets(days: dict[DayKey, Counts], granularity: str | None, group_index: int | None) -> list[Bucket]:
    """Fold day rows into periods and, when asked, groups (1 survey, 2 tier, 3 channel of the key)."""
    folded: dict[tuple[str | None, str | None], Bucket] = {}
    for key, counts in days.items():
        group = (key[group_index] or None) if group_index is not None else None
        period = period_start(key[0], granularity)
        folded.setdefault((period, group), Bucket(period, group)).counts.add(counts)
    return [folded[k] for k in sorted(folded, key=lambda k: (k[0] or "", k[1] or ""))]
