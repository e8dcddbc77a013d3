"""Counters that hold across Lambda containers: fixed windows and concurrency slots.

Both live in Redis when REDIS_URL is set (one Lua script call each, the
server's clock) or in PostgreSQL otherwise, or when Redis is unreachable
(the caller's work is never refused because the limiter's store is down).
Used by the gateway's per-endpoint rate limits and by the per-key quotas of
the management API.

- `hit(bucket, per_seconds)` counts one event in the current fixed window of
  `per_seconds` and answers (events in this window, seconds left in it).
- `take_slot(bucket, limit, token, ttl_s)` takes one of `limit` slots (a
  request in flight) and answers whether it got one; `give_slot(bucket,
  token)` returns it. A slot whose holder died expires after `ttl_s`.
- `hit_and_take(bucket, per_seconds, rate, slot_bucket, limit, token,
  ttl_s)` is `hit` then, unless the window is over `rate` (then no slot is
  taken), `take_slot`, in ONE round trip: one Lua script, or one call of the
  SQL function `stepflow_quota_admit` (migration 074: it runs the same
  upsert and guarded insert as `hit` and `take_slot`; change them together).
  Answers (hits, seconds left, got a slot).

Counts are exact under concurrency: Redis runs each script atomically; in
PostgreSQL the window counter is one upsert and a slot is taken under a
transaction-scoped advisory lock on the bucket. In PostgreSQL `give_slot` is
sent without waiting (chalicelib.db.pipeline): this process's next statement
reads its answer first, so its next admission sees the slot free; a lost one
is sent again (a delete: idempotent). The limiter's Redis client is the
standalone one: a script may touch keys of different hash tags.
"""
from __future__ import annotations

import logging
import random
import threading
from typing import Any

log = logging.getLogger("stepflow.limits")

KEY_PREFIX = "stepflow:rl:"
SLOT_PREFIX = "stepflow:slots:"

# One owner per counting rule: the window's and the slot's Lua, used alone
# (`hit`, `take_slot`) and together (`hit_and_take`). `now_ms` = the server's clock.
_NOW = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""
# -> n (events in this window), left (ms to its end). KEYS[key] = bucket key (hash-tagged); ARGV[per] = window ms.
_WINDOW_PART = """
local per_ms = tonumber(ARGV[{per}])
local win = math.floor(now_ms / per_ms)
local key = KEYS[{key}] .. ':' .. win
local n = redis.call('INCR', key)
if n == 1 then redis.call('PEXPIRE', key, per_ms + 1000) end
local left = (win + 1) * per_ms - now_ms
"""
# -> got (1: a slot taken). KEYS[key] = slot set, members scored by expiry; ARGV = limit, token, ttl ms.
_SLOT_PART = """
redis.call('ZREMRANGEBYSCORE', KEYS[{key}], '-inf', now_ms)
local got = 0
if redis.call('ZCARD', KEYS[{key}]) < tonumber(ARGV[{limit}]) then
  redis.call('ZADD', KEYS[{key}], now_ms + tonumber(ARGV[{ttl}]), ARGV[{token}])
  redis.call('PEXPIRE', KEYS[{key}], tonumber(ARGV[{ttl}]) + 1000)
  got = 1
end
"""
_WINDOW_LUA = _NOW + _WINDOW_PART.format(key=1, per=1) + "return {n, left}\n"
_SLOT_LUA = _NOW + _SLOT_PART.format(key=1, limit=1, token=2, ttl=3) + "return got\n"
# KEYS = window key, slot set; ARGV = window ms, rate, limit, token, ttl ms. Over the rate: no slot.
_ADMIT_LUA = (_NOW + _WINDOW_PART.format(key=1, per=1) + "if n > tonumber(ARGV[2]) then return {n, left, 0} end\n"
              + _SLOT_PART.format(key=2, limit=3, token=4, ttl=5) + "return {n, left, got}\n")

# The window's upsert and the slot's insert under the advisory lock, as `hit` and `take_slot` run them.
_ADMIT_SQL = ("SELECT n_hits, seconds_left, slot_taken FROM stepflow_quota_admit("
              "CAST(:wb AS varchar), CAST(:per AS double precision), CAST(:rate AS integer), "
              "CAST(:sb AS varchar), CAST(:lim AS integer), CAST(:tok AS varchar), CAST(:ttl AS double precision))")
_GIVE_SQL = ("WITH d AS (DELETE FROM concurrency_slots WHERE bucket = CAST(:b AS varchar) "
             "AND token = CAST(:t AS varchar) RETURNING 1) SELECT set_config('synchronous_commit', 'off', true)")
_prepared: list[str] = []
_UNDEFINED_FUNCTION = "42883"   # SQLSTATE


def _prepare_statements() -> None:
    """Mark the hot statements `prepared()` (chalicelib.db loads on first use)."""
    if not _prepared:
        from chalicelib.db.database import prepared

        _prepared.extend(prepared(sql) for sql in (_ADMIT_SQL, _GIVE_SQL))


class PostgresCounter:
    name = "postgresql"

    def __init__(self, db: Any = None):
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

    def take_slot(self, bucket: str, limit: int, token: str, ttl_s: float) -> bool:
        db = self.db
        with db.transaction():
            db.scalar("SELECT pg_advisory_xact_lock(hashtextextended(:b, 22))", b=bucket)
            got = db.scalar(
                "INSERT INTO concurrency_slots (bucket, token, expires_at) "
                "SELECT CAST(:b AS varchar), :t, clock_timestamp() + make_interval(secs => :ttl) "
                "WHERE (SELECT count(*) FROM concurrency_slots WHERE bucket = CAST(:b AS varchar) "
                "       AND expires_at > clock_timestamp()) < :lim "
                "RETURNING set_config('synchronous_commit', 'off', true) IS NOT NULL",
                b=bucket, t=token, ttl=float(ttl_s), lim=int(limit))
        if random.random() < 0.01:
            db.execute("DELETE FROM concurrency_slots WHERE expires_at < clock_timestamp() - interval '1 minute'")
        return bool(got)

    def hit_and_take(self, bucket: str, per_seconds: float, rate: int, slot_bucket: str, limit: int,
                     token: str, ttl_s: float) -> tuple[int, float, bool]:
        _prepare_statements()
        db = self.db
        try:
            row = db.one(_ADMIT_SQL, wb=bucket, per=float(per_seconds), rate=int(rate), sb=slot_bucket,
                         lim=int(limit), tok=token, ttl=float(ttl_s))
        except Exception as exc:
            cause = exc.__cause__
            info = cause.args[0] if cause is not None and cause.args and isinstance(cause.args[0], dict) else {}
            if info.get("C") != _UNDEFINED_FUNCTION:
                raise
            # code newer than the schema (migration 074 not applied yet): the two statements
            hits, left = self.hit(bucket, per_seconds)
            return hits, left, hits <= rate and self.take_slot(slot_bucket, limit, token, ttl_s)
        if random.random() < 0.01:
            db.execute("DELETE FROM gateway_rate_limit_counters WHERE expires_at < now() - interval '1 minute'")
            db.execute("DELETE FROM concurrency_slots WHERE expires_at < clock_timestamp() - interval '1 minute'")
        return int(row["n_hits"]), float(row["seconds_left"]), bool(row["slot_taken"])

    def give_slot(self, bucket: str, token: str) -> None:
        _prepare_statements()
        self.db.execute_nowait(_GIVE_SQL, _on_lost=lambda db: db.execute(_GIVE_SQL, b=bucket, t=token),
                               b=bucket, t=token)


class RedisCounter:
    name = "redis"

    def __init__(self, client: Any):
        self.client = client
        self._window = client.register_script(_WINDOW_LUA)
        self._slot = client.register_script(_SLOT_LUA)
        self._admit = client.register_script(_ADMIT_LUA)

    def hit(self, bucket: str, per_seconds: float) -> tuple[int, float]:
        n, left_ms = self._window(keys=[KEY_PREFIX + "{" + bucket + "}"], args=[int(per_seconds * 1000)])
        return int(n), int(left_ms) / 1000.0

    def take_slot(self, bucket: str, limit: int, token: str, ttl_s: float) -> bool:
        return bool(self._slot(keys=[SLOT_PREFIX + "{" + bucket + "}"], args=[int(limit), token, int(ttl_s * 1000)]))

    def hit_and_take(self, bucket: str, per_seconds: float, rate: int, slot_bucket: str, limit: int,
                     token: str, ttl_s: float) -> tuple[int, float, bool]:
        n, left_ms, got = self._admit(keys=[KEY_PREFIX + "{" + bucket + "}", SLOT_PREFIX + "{" + slot_bucket + "}"],
                                      args=[int(per_seconds * 1000), int(rate), int(limit), token, int(ttl_s * 1000)])
        return int(n), int(left_ms) / 1000.0, bool(got)

    def give_slot(self, bucket: str, token: str) -> None:
        self.client.zrem(SLOT_PREFIX + "{" + bucket + "}", token)


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


def counter_for_settings(settings: Any = None):
    if settings is None:
        from chalicelib.settings import get_settings

        settings = get_settings()
    if settings.redis_url:
        return _redis_counter(settings.redis_url)
    return PostgresCounter()


def _with_fallback(counter: Any, op: str, *args: Any) -> Any:
    counter = counter or counter_for_settings()
    try:
        return getattr(counter, op)(*args)
    except Exception as exc:  # noqa: BLE001 - Redis down: keep counting in PostgreSQL
        if isinstance(counter, RedisCounter):
            log.warning("limit store redis unreachable (%s); using postgresql", type(exc).__name__)
            return getattr(PostgresCounter(), op)(*args)
        raise


def hit(bucket: str, per_seconds: float, counter: Any = None) -> tuple[int, float]:
    return _with_fallback(counter, "hit", bucket, per_seconds)


def take_slot(bucket: str, limit: int, token: str, ttl_s: float, counter: Any = None) -> bool:
    return _with_fallback(counter, "take_slot", bucket, limit, token, ttl_s)


def hit_and_take(bucket: str, per_seconds: float, rate: int, slot_bucket: str, limit: int, token: str,
                 ttl_s: float, counter: Any = None) -> tuple[int, float, bool]:
    return _with_fallback(counter, "hit_and_take", bucket, per_seconds, rate, slot_bucket, limit, token, ttl_s)


def give_slot(bucket: str, token: str, counter: Any = None) -> None:
    try:
        _with_fallback(counter, "give_slot", bucket, token)
    except Exception as exc:  # noqa: BLE001 - the slot expires on its own
        log.warning("could not return a concurrency slot of %s: %s", bucket, type(exc).__name__)
