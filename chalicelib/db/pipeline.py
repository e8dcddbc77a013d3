"""Statements sent without waiting for their answers, for the Database's pool.

    db.execute_nowait(sql, _on_lost=rewrite, **params)   # sent; the caller goes on at once

The hot paths' log rows (a gateway call's log row and statistics, a dynamic
API's invocation, the access log) are sent as prepared statements and the
caller does not wait: the server runs and commits each on arrival. Their
answers stay unread on the connection (several may queue up, pipelined, at
most MAX_UNREAD) and are read:

- before anyone takes the connection for a statement that waits
  (`Database._acquire`), in order;
- by `settle()`, which every statement that waits runs first outside a
  transaction: it reads every answer this process left unread on its OTHER
  connections up to that moment (taking the idle ones, waiting at most
  `pool_wait_s` for those in use). A read through the same server (the local
  server's threads, one Lambda container) therefore sees every row written
  by a call answered before it. Another container sees it once the database
  has run it (it was sent before the answer left);
- when an idle connection is closed or found broken: then the statements
  whose answers were not read have an unknown outcome.

A failed statement (its error read back) is logged with its SQLSTATE; one
with an `_on_lost` callback - also one whose outcome is unknown - has it
called once, later, from a statement outside a transaction
(`_retry_lost`): callbacks must be idempotent (the call log's re-write
inserts only a row that is not there yet). A lost one without a callback is
only logged.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

from chalicelib.db.wire import DrainBroken, drain, is_prepared, send_prepared, unread

log = logging.getLogger("stepflow.db")

MAX_UNREAD = 8   # answers left unread on one connection before a send reads them first


class Pipeline:
    """Mixed into Database: uses its pool (`_cond`, `_idle`, `_acquire`, `_give_back`, `_local`)."""

    _cond: Any
    _idle: list
    _local: Any
    pool_wait_s: float

    def _init_pipeline(self) -> None:
        self._unread: dict[int, tuple[Any, int]] = {}   # id(conn) -> (conn, seq of its oldest unread send)
        self._sent = 0                                     # sends so far (a sequence)
        self._lost: list[Callable[[Any], Any]] = []         # on_lost callbacks due

    # -- bookkeeping -------------------------------------------------------------
    def _note_sent(self, conn) -> None:
        with self._cond:
            self._sent += 1
            self._unread.setdefault(id(conn), (conn, self._sent))

    def _forget(self, conn) -> None:
        with self._cond:
            if self._unread.pop(id(conn), None) is not None:
                self._cond.notify_all()

    def _due(self, callbacks, what: str, count: int, quiet: bool = False) -> None:
        """Queue the `on_lost` callbacks of `count` statements (`what` happened to them)."""
        due = [cb for cb in callbacks if cb is not None]
        (log.debug if quiet else log.warning)("%d statement(s) sent without waiting %s (%d to re-run)",
                                              count, what, len(due))
        if due:
            with self._cond:
                self._lost.extend(due)

    def _failed(self, exc: Exception, on_lost) -> None:
        info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
        log.warning("a statement sent without waiting failed: %s %s", info.get("C"), info.get("M", exc))
        if on_lost is not None:
            with self._cond:
                self._lost.append(on_lost)

    def _abandon(self, conn, idle: bool = False) -> None:
        """`conn` is being closed or is broken: its unread statements' outcome is unknown
        (`idle`: closed after idle_s, their answers long in: said at debug level only)."""
        pending = conn.__dict__.pop("_stepflow_unread", None) or []
        self._forget(conn)
        if pending:
            self._due([cb for _, cb in pending], "have an unknown outcome", len(pending), quiet=idle)

    def _drain(self, conn) -> None:
        """Read `conn`'s unread answers; a connection that breaks doing so raises InterfaceError."""
        if not unread(conn):
            return
        broken = None
        try:
            failed = drain(conn)
        except DrainBroken as exc:
            failed, broken = exc.failed, exc
        self._forget(conn)
        for err, cb in failed:
            self._failed(err, cb)
        if broken is not None:
            from pg8000.exceptions import InterfaceError
            self._due(broken.lost, "lost their connection before their answers were read", len(broken.lost))
            raise InterfaceError("connection is closed") from broken.cause

    # -- sending -----------------------------------------------------------------
    def _send_nowait(self, conn, statement: str, vals, on_lost) -> None:
        """Send on a borrowed `conn` (the caller gives it back). Raises pg8000's errors."""
        n = unread(conn)
        if n and (n >= MAX_UNREAD or not is_prepared(conn, statement)):
            self._drain(conn)   # preparing waits for an answer of its own; the queue stays bounded
        send_prepared(conn, statement, vals, on_lost)
        self._note_sent(conn)

    # -- reading what was sent ------------------------------------------------------
    def settle(self) -> None:
        """Read every answer this process left unread on other connections until now."""
        if not self._unread:
            return
        from pg8000.exceptions import InterfaceError
        deadline = time.monotonic() + self.pool_wait_s
        with self._cond:
            target = self._sent
        while True:
            conn = None
            with self._cond:
                waiting = [c for c, first in self._unread.values() if first <= target]
                if not waiting:
                    return
                idle = {id(c): i for i, (c, _) in enumerate(self._idle)}
                for c in waiting:
                    if id(c) in idle:
                        conn = self._idle.pop(idle[id(c)])[0]
                        break
                if conn is None:   # in use by another thread, which reads them first
                    left = deadline - time.monotonic()
                    if left <= 0:
                        log.warning("settle: answers still unread after %.1f s; going on", self.pool_wait_s)
                        return
                    self._cond.wait(left)
                    continue
            try:
                self._drain(conn)
            except (InterfaceError, OSError):
                self._give_back(conn, broken=True)   # type: ignore[attr-defined]
                continue
            self._give_back(conn)   # type: ignore[attr-defined]

    def _retry_lost(self) -> None:
        """Call the due `on_lost` callbacks (outside any transaction, one thread at a time each)."""
        if not self._lost or getattr(self._local, "depth", 0) > 0 or getattr(self._local, "retrying", False):
            return
        with self._cond:
            due, self._lost = self._lost, []
        self._local.retrying = True
        try:
            for callback in due:
                try:
                    callback(self)
                except Exception as exc:  # noqa: BLE001 - what could not be re-run is reported, not raised
                    log.error("a statement sent without waiting was lost: re-running it failed (%s)",
                              type(exc).__name__)
        finally:
            self._local.retrying = False

