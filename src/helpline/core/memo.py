"""Configuration looked up once per batch job instead of once per item.

A batch job (the mail intake processing a batch of messages in one transaction) wraps its
work in `memoized()`; inside, `memo(key, load)` loads each key once. Outside such a block
`memo` simply loads, so services behave exactly as before for single calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_cache: ContextVar[dict[str, Any] | None] = ContextVar("memo", default=None)


@contextmanager
def memoized() -> Iterator[None]:
    """Within the block, `memo` loads each key once."""
    token = _cache.set({})
    try:
        yield
    finally:
        _cache.reset(token)


def memo(key: str, load: Callable[[], T]) -> T:
    """`load()`, or what it returned the first time inside the current `memoized()` block."""
    cache = _cache.get()
    if cache is None:
        return load()
    if key not in cache:
        cache[key] = load()
    return cache[key]
