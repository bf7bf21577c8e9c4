"""The survey arithmetic: NPS with its confidence interval, CSAT share, CES mean. Pure functions."""
from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.959964


@dataclass(frozen=True)
class NpsCounts:
    promoters: int
    passives: int
    detractors: int

    @property
    def responses(self) -> int:
        return self.promoters + self.passives + self.detractors


@dataclass(frozen=True)
class Nps:
    nps: float | None
    """Promoters minus detractors, in percentage points (-100..100); None without responses."""
    ci_low: float | None
    ci_high: float | None
    counts: NpsCounts


def nps_category(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def nps(counts: NpsCounts, *, z: float = Z_95) -> Nps:
    """NPS and a normal-approximation interval on it.

    Each answer scores +1, 0 or -1, so NPS/100 is the mean of that variable; its variance is
    p_promoters + p_detractors - (p_promoters - p_detractors)^2.
    """
    n = counts.responses
    if n == 0:
        return Nps(None, None, None, counts)
    share_promoters, share_detractors = counts.promoters / n, counts.detractors / n
    mean = share_promoters - share_detractors
    variance = share_promoters + share_detractors - mean ** 2
    margin = z * math.sqrt(max(variance, 0.0) / n)
    return Nps(round(100 * mean, 2), round(100 * max(mean - margin, -1.0), 2),
               round(100 * min(mean + margin, 1.0), 2), counts)


def nps_of_scores(scores: list[int]) -> Nps:
    categories = [nps_category(score) for score in scores]
    return nps(NpsCounts(categories.count("promoter"), categories.count("passive"), categories.count("detractor")))


def csat_percent(satisfied: int, responses: int) -> float | None:
    """Share of CSAT answers of 4 or 5, in percent."""
    return round(100 * satisfied / responses, 2) if responses else None


def ces_mean(score_sum: int, responses: int) -> float | None:
    return round(score_sum / responses, 3) if responses else None


def response_rate(responded: int, invited: int) -> float | None:
    return round(100 * responded / invited, 2) if invited else None
