"""The fixed-window limiter against every cache backend the desk runs on."""

from __future__ import annotations

import time
import uuid

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from helpline.integrations import ratelimit

BACKENDS = {
    "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "redis": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/15",
    },
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request, db):
    if request.param == "redis":
        redis = pytest.importorskip("redis")
        try:
            redis.Redis.from_url(BACKENDS["redis"]["LOCATION"], socket_timeout=1).ping()
        except redis.exceptions.ConnectionError:
            pytest.skip("no Redis server")
    with override_settings(CACHES={"default": BACKENDS[request.param]}):
        yield request.param
        if request.param != "redis":  # Redis keys are unique per test and expire by themselves
            cache.clear()


def test_limit_is_enforced_per_key_with_retry_after(backend):
    key = f"test:{uuid.uuid4()}"
    assert [ratelimit.hit(key, "3/60") for _ in range(3)] == [None, None, None]
    retry_after = ratelimit.hit(key, "3/60")
    assert retry_after is not None
    assert 1 <= retry_after <= 60
    # Another key has its own budget
    assert ratelimit.hit(f"{key}:other", "3/60") is None


def test_a_new_window_starts_a_new_count(backend):
    key = f"test:{uuid.uuid4()}"
    start = (time.time() // 10) * 10  # the start of the current 10-second window
    assert ratelimit.hit(key, "1/10", now=start) is None
    assert ratelimit.hit(key, "1/10", now=start + 3) == 7
    assert ratelimit.hit(key, "1/10", now=start + 10) is None


def test_the_count_is_a_cache_entry_that_expires_after_its_window(backend):
    key = f"test:{uuid.uuid4()}"
    start = (time.time() // 60) * 60
    for _ in range(2):
        ratelimit.hit(key, "5/60", now=start + 1)
    cache_key = f"helpline:rl:{key}:{int(start)}"
    assert cache.get(cache_key) == 2
    if backend == "redis":
        client = ratelimit._redis_client(cache_key)
        assert 0 < client.ttl(cache.make_and_validate_key(cache_key)) <= 61


@pytest.mark.parametrize("rate", ["600", "a/b", "0/60", "10/0"])
def test_bad_rates_are_configuration_errors(rate):
    with pytest.raises(ImproperlyConfigured):
        ratelimit.parse_rate(rate)
