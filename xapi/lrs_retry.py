"""When to send an LRS request again: retryable statuses, backoff and Retry-After."""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import time
from dataclasses import dataclass, field

RETRYABLE_STATUS = frozenset({500, 502, 503, 504, 507, 520, 521, 522, 523, 524})


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter; Retry-After wins on 429/503."""

    retries: int = 4
    base_s: float = 0.25
    max_s: float = 8.0
    max_retry_after_s: float = 60.0
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        cap = min(self.max_s, self.base_s * (2**attempt))
        return self.rng.uniform(cap / 2, cap)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)
