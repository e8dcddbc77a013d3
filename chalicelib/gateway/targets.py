"""Endpoint targets (an endpoint with its document's call settings) cached per container.

    t = targets.get(endpoint_id, lambda: load_target(endpoint_id))
    targets.forget_all()        # after a committed change of a document or endpoint

A target read from the database is reused for TARGET_CACHE_TTL_S (2 s): a
changed, deactivated or deleted endpoint or document takes effect at once in
the container that changed it (the catalog's document and endpoint services
call `forget_all()` once their transaction is committed) and within
TARGET_CACHE_TTL_S in every other container. A load that started before a
`forget_all()` is not kept (a generation counter), so a reader racing a
writer cannot cache the old row past the change. Unknown endpoints are never
cached. At most MAX_ENTRIES targets; the cache is emptied when full.
"""
from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from chalicelib.gateway.invoke import Target

TARGET_CACHE_TTL_S = 2.0
MAX_ENTRIES = 2048

_cache: dict[str, tuple[float, int, "Target"]] = {}
_generation = 0
_lock = threading.Lock()


def get(endpoint_id: str, load: Callable[[], "Target"]) -> "Target":
    now = time.monotonic()
    hit = _cache.get(endpoint_id)
    if hit is not None and hit[0] > now and hit[1] == _generation:
        return hit[2]
    generation = _generation
    target = load()
    with _lock:
        if generation == _generation:
            if len(_cache) >= MAX_ENTRIES:
                _cache.clear()
            _cache[endpoint_id] = (now + TARGET_CACHE_TTL_S, generation, target)
    return target


def forget_all() -> None:
    global _generation
    with _lock:
        _generation += 1
        _cache.clear()
