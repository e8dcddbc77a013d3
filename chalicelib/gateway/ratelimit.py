"""Rate limits that hold across Lambda containers: fixed windows counted in
Redis (when REDIS_URL is set) or PostgreSQL (otherwise, or when Redis is
unreachable).

`check(bucket, requests, per_seconds)` counts one call and raises
RateLimited (429, Retry-After = seconds to the next window) when the window
already admitted `requests` calls. Both stores count atomically on the
server and use the server's clock, so concurrent callers in any number of
containers never get more than `requests` admissions per window.
"""
from __future__ import annotations

import logging
import math
import random
import threading
from dataclasses import dataclass

from chalicelib.web.errors import RateLimited

log = logging.getLogger("stepflow")

KEY_PREFIX = "stepflow:rl:"

# KEYS[1] = bucket key (hash-tagged); ARGV[1] = window length in ms.
_LUA = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local per_ms = tonumber(ARGV[1])
local win = math.floor(now_ms / per_ms)
local key = KEYS[1] .. ':' .. win
local n = redis.call('INCR', key)
if n == 1 then redis.call('PEXPIRE', key, per_ms + 1000) end
return {n, (win + 1) * per_ms - now_ms}
"""


@dataclass(frozen=True)
class Limit:
    requests: int
    per_seconds: float
    scope: str = "endpoint"  # or "document": one bucket for all its endpoints


def parse_limit(cfg, document_id=None) -> Limit | None:
    """A document's rate_limit_config or None, checked by the one typed
    validator (chalicelib.gateway.configs): a stored config that breaks the
    rule is a 409 naming the field."""
    from chalicelib.gateway import configs

    model = configs.for_use("rate_limit_config", cfg, document_id)
    if model is None:
        return None
    return Limit(model.requests, model.per_seconds, model.scope)


# ---------------------------------------------------------------- stores


class PostgresCounter:
    name = "postgresql"

    def __init__(self, db=None):
        self._db = db

    @property
    def db(self):
        if self._db is None:
            from chalicelib.db import get_db

            return get_db()
        return self._db

    def hit(self, bucket: str, per_seconds: float) -> tuple[int, float]:
        """Count one call; return (hits in this window, seconds left in it)."""
        row = self.db.one(
            "WITH t AS (SELECT extract(epoch FROM clock_timestamp()) AS now_s) "
            "INSERT INTO gateway_rate_limit_counters AS c (bucket, window_no, hits, expires_at) "
            "SELECT :bucket, floor(t.now_s / :per)::bigint, 1, "
            "       to_timestamp((floor(t.now_s / :per) + 1) * :per) FROM t "
            "ON CONFLICT (bucket, window_no) DO UPDATE SET hits = c.hits + 1 "
            "RETURNING c.hits, extract(epoch FROM c.expires_at) - extract(epoch FROM clock_timestamp()) AS left_s, "
            "set_config('synchronous_commit', 'off', true) AS _async",  # counters are ephemeral
            bucket=bucket, per=float(per_seconds))
        if random.random() < 0.01:
            self.db.execute("DELETE FROM gateway_rate_limit_counters WHERE expires_at < now() - interval '1 minute'")
        return int(row["hits"]), float(row["left_s"])


class RedisCounter:
    name = "redis"

    def __init__(self, client):
        self.client = client
        self._script = client.register_script(_LUA)

    def hit(self, bucket: str, per_seconds: float) -> tuple[int, float]:
        n, left_ms = self._script(keys=[KEY_PREFIX + "{" + bucket + "}"], args=[int(per_seconds * 1000)])
        return int(n), int(left_ms) / 1000.0


_redis_counters: dict[str, RedisCounter] = {}
_lock = threading.Lock()


def _redis_counter(url: str) -> RedisCounter:
    counter = _redis_counters.get(url)
    if counter is None:
        with _lock:
            counter = _redis_counters.get(url)
            if counter is None:
                import redis

                client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
                counter = RedisCounter(client)
                _redis_counters[url] = counter
    return counter


def counter_for_settings(settings=None):
    if settings is None:
        from chalicelib.settings import get_settings

        settings = get_settings()
    if settings.redis_url:
        return _redis_counter(settings.redis_url)
    return PostgresCounter()


def check(bucket: str, limit: Limit, counter=None) -> int:
    """Count one call against `limit`; raise RateLimited when over it.
    Returns the number of calls in the current window."""
    counter = counter or counter_for_settings()
    try:
        hits, left = counter.hit(bucket, limit.per_seconds)
    except Exception as exc:  # noqa: BLE001 - Redis down: keep limiting in PostgreSQL
        if isinstance(counter, RedisCounter):
            log.warning("rate limit store redis unreachable (%s); using postgresql", type(exc).__name__)
            hits, left = PostgresCounter().hit(bucket, limit.per_seconds)
        else:
            raise
    if hits > limit.requests:
        retry_after = max(1, math.ceil(left))
        raise RateLimited(
            f"rate limit of {limit.requests} requests per {limit.per_seconds:g} s reached; retry in {retry_after} s",
            retry_after,
            {"limit": limit.requests, "per_seconds": limit.per_seconds, "retry_after_seconds": retry_after,
             "scope": limit.scope},
        )
    return hits
