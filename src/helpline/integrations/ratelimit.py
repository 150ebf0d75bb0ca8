"""Fixed-window rate limiting in the Django cache (shared by every web node).

`cache.add` starts a window's counter and `cache.incr` counts; both are atomic on
Redis (production: every web node shares the counters) and on the in-process cache of
the embedded desk (one process). On Django's database cache `incr` is read-then-write,
so a burst could slip a few requests past the limit; Helpline does not configure it.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured


def parse_rate(rate: str) -> tuple[int, int]:
    """Parse "600/60" into (600 requests, 60 seconds)."""
    try:
        count, seconds = (int(part) for part in rate.split("/", 1))
    except ValueError:
        raise ImproperlyConfigured(f"rate must read 'requests/seconds', got {rate!r}") from None
    if count < 1 or seconds < 1:
        raise ImproperlyConfigured(f"rate must be positive, got {rate!r}")
    return count, seconds


def hit(key: str, rate: str | None = None, *, now: float | None = None) -> int | None:
    """Count one request for `key`; None if allowed, else seconds until the window resets."""
    limit, window = parse_rate(rate or settings.HELPLINE_API_RATE_LIMIT)
    now = time.time() if now is None else now
    window_start = int(now // window) * window
    cache_key = f"helpline:rl:{key}:{window_start}"
    if cache.add(cache_key, 1, timeout=window + 1):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:
            # The window expired between add and incr: this request opens the next one.
            cache.add(cache_key, 1, timeout=window + 1)
            count = 1
    if count <= limit:
        return None
    return max(1, math.ceil(window_start + window - now))
