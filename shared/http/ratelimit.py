"""Per-key rate limits: a token bucket per API key in each replica."""
from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    """Allows `rate` requests per second per key on average, with bursts up to `burst`.

    Limits are per replica: with N replicas a key may reach N times the rate, which is the usual
    trade for not putting a shared store on every request's path.
    """

    rate: float
    burst: int
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def retry_after(self, key: str, now: float | None = None) -> float:
        """0 when the request may go ahead (and is counted); otherwise seconds until it may."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.setdefault(key, _Bucket(float(self.burst), now))
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate
