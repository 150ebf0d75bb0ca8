"""Fixed-window rate limiting in the Django cache (shared by every web node).

Every request counts: one round trip on Redis (production: every web node shares the
counters), `INCR` and `EXPIRE` pipelined; `cache.incr` (and `cache.add` to open a window)
on other backends, atomic on the in-process cache of the embedded desk (one process). On
Django's database cache `incr` is read-then-write, so a burst could slip a few requests past
the limit; Helpline does not configure it.
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
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
    count = _count(f"helpline:rl:{key}:{window_start}", timeout=window + 1)
    if count <= limit:
        return None
    return max(1, math.ceil(window_start + window - now))


def _count(cache_key: str, *, timeout: int) -> int:
    """Add one to the counter of `cache_key` (created with `timeout` seconds to live)."""
    redis = _redis_client(cache_key)
    if redis is not None:
        # One round trip. Django's own add-then-incr took three (SET NX, EXISTS, INCR);
        # the counter is stored as a plain integer, as RedisCache stores integers.
        key = cache.make_and_validate_key(cache_key)
        pipeline = redis.pipeline(transaction=False)
        pipeline.incr(key)
        pipeline.expire(key, timeout)
        count, _expires = pipeline.execute()
        return int(count)
    try:
        return cache.incr(cache_key)
    except ValueError:
        pass  # the first request of the window
    if cache.add(cache_key, 1, timeout=timeout):
        return 1
    try:
        return cache.incr(cache_key)  # another request opened the window meanwhile
    except ValueError:
        # It expired again between add and incr: this request opens the next one.
        cache.add(cache_key, 1, timeout=timeout)
        return 1


def _redis_client(cache_key: str) -> Any:
    """The redis-py client holding `cache_key` when the cache is Redis, else None (the
    client RedisCache itself writes with)."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if not isinstance(backend, RedisCache):
        return None
    return backend._cache.get_client(cache_key, write=True)
