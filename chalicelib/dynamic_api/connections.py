"""Seed 002 ConnectionManager: per connection pool, in this container,

* up to `pool_size` idle connections are kept and reused across invocations;
  one idle for longer than `idle_close_s` (IDLE_CLOSE_AFTER_S) is closed;
* at most `max_concurrency` queries run at once; a caller over the limit
  waits up to `acquire_timeout_s`, then gets 503 SERVICE_UNAVAILABLE;
* a connection that failed at the connection level is discarded, never
  returned to the pool (a read that failed that way on a reused connection
  is retried once on a fresh one by the executor);
* editing a pool bumps its `version`: the next use sees the new version and
  drops every connection made with the old settings (`invalidate` does it at
  once in the container that made the edit);
* every new connection is shown to `verify` before first use (the trust
  check: a pool may not reach the gateway's own database, whatever its host
  string says or what DNS answers today); a refused one is closed;
* a connection going back to the pool is reset to a fresh session first
  (`DbConnection.reset`: DISCARD ALL / COM_RESET_CONNECTION); one whose
  reset fails is closed (PostgreSQL: the reset is sent at give-back and its
  answer read at the next take, `settle`). Nothing one invocation does to its session is seen
  by the next.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from chalicelib.errors import ServiceUnavailable

from .drivers import ConnectParams, DbConnection, connect

ACQUIRE_TIMEOUT_S = 2.0
IDLE_PING_AFTER_S = 60.0       # a reused connection idle longer than this is pinged first
IDLE_CLOSE_AFTER_S = 300.0     # an idle connection older than this is closed, not reused


@dataclass(frozen=True)
class PoolConfig:
    id: str
    version: int
    params: ConnectParams
    pool_size: int
    max_concurrency: int


class _PoolState:
    def __init__(self, cfg: PoolConfig):
        self.cfg = cfg
        self.idle: deque[DbConnection] = deque()
        self.sem = threading.BoundedSemaphore(cfg.max_concurrency)
        self.lock = threading.Lock()
        self.retired = False
        self.opened = 0

    def close_idle(self) -> None:
        with self.lock:
            conns = list(self.idle)
            self.idle.clear()
        for c in conns:
            c.close()


class ConnectionManager:
    def __init__(self, acquire_timeout_s: float = ACQUIRE_TIMEOUT_S,
                 verify: Callable[[PoolConfig, DbConnection], None] | None = None,
                 idle_close_s: float = IDLE_CLOSE_AFTER_S):
        self.acquire_timeout_s = acquire_timeout_s
        self.idle_close_s = idle_close_s
        self.verify = verify
        self._pools: dict[str, _PoolState] = {}
        self._lock = threading.Lock()

    def _state(self, cfg: PoolConfig) -> _PoolState:
        with self._lock:
            state = self._pools.get(cfg.id)
            if state is not None and state.cfg.version == cfg.version and state.cfg == cfg:
                return state
            old, state = state, _PoolState(cfg)
            self._pools[cfg.id] = state
        if old is not None:
            old.retired = True
            old.close_idle()
        return state

    @contextmanager
    def connection(self, cfg: PoolConfig) -> Iterator[DbConnection]:
        """A connection of pool `cfg` for the duration of the block."""
        state = self._state(cfg)
        if not state.sem.acquire(timeout=self.acquire_timeout_s):
            raise ServiceUnavailable(
                f"connection pool is busy: {cfg.max_concurrency} queries already running; retry shortly",
                {"pool_id": cfg.id, "max_concurrency": cfg.max_concurrency,
                 "waited_s": self.acquire_timeout_s},
                {"Retry-After": "1"},
            )
        conn = None
        try:
            conn = self._take(state)
            yield conn
        finally:
            if conn is not None:
                self._give_back(state, conn)
            state.sem.release()

    def _expire(self, state: _PoolState, now: float) -> None:
        """Close the idle connections unused for longer than idle_close_s (oldest are first)."""
        expired = []
        with state.lock:
            while state.idle and now - state.idle[0].last_used > self.idle_close_s:
                expired.append(state.idle.popleft())
        for c in expired:
            c.close()

    def _take(self, state: _PoolState) -> DbConnection:
        now = time.monotonic()
        self._expire(state, now)
        while True:
            with state.lock:
                conn = state.idle.pop() if state.idle else None
            if conn is None:
                conn = connect(state.cfg.params)
                if self.verify is not None:
                    try:
                        self.verify(state.cfg, conn)
                    except BaseException:
                        conn.close()
                        raise
                conn.generation = state.cfg.version
                conn.reused = False
                with state.lock:
                    state.opened += 1
                return conn
            conn.reused = True
            if not conn.settle():        # the reset sent at give-back failed: never reused
                conn.close()
                continue
            if now - conn.last_used > IDLE_PING_AFTER_S:
                try:
                    conn.ping()
                except Exception:
                    conn.close()
                    continue
            return conn

    def _give_back(self, state: _PoolState, conn: DbConnection) -> None:
        conn.last_used = time.monotonic()
        if not conn.broken and not state.retired:
            conn.reset()
        if conn.broken or state.retired:
            conn.close()
            return
        with state.lock:
            if len(state.idle) < state.cfg.pool_size:
                state.idle.append(conn)
                return
        conn.close()
        self._expire(state, conn.last_used)

    def invalidate(self, pool_id: str) -> None:
        with self._lock:
            state = self._pools.pop(pool_id, None)
        if state is not None:
            state.retired = True
            state.close_idle()

    def idle_count(self, pool_id: str) -> int:
        state = self._pools.get(pool_id)
        return len(state.idle) if state else 0

    def opened_count(self, pool_id: str) -> int:
        state = self._pools.get(pool_id)
        return state.opened if state else 0

    def close_all(self) -> None:
        with self._lock:
            states = list(self._pools.values())
            self._pools.clear()
        for s in states:
            s.retired = True
            s.close_idle()


def _verify(cfg: PoolConfig, conn: DbConnection) -> None:
    from .trust import verify_connection
    verify_connection(cfg, conn)


manager = ConnectionManager(verify=_verify)
