"""The project's PostgreSQL: a bounded, reused set of connections, plain SQL.

`Database.query/one/scalar/execute` take SQL with `:name` parameters
(pg8000.native binds them; values are never spliced).

Connections are pooled per process and bounded (`max_connections`,
setting DB_POOL_MAX: 1 in a Lambda container, 8 elsewhere). A statement
outside a transaction borrows an idle connection for that statement only
and gives it back, so the number of connections never grows with the
number of requests or threads. `transaction()` pins one connection to the
calling thread until COMMIT/ROLLBACK (calls made inside it join it);
`session()` pins one without a transaction, for session-level state such as
the migrator's advisory lock. Every statement is one round trip
(chalicelib.db.wire); `prepared()` statements are parsed once per
connection; `execute_nowait` sends one without waiting for its answer. A thread waiting for a free connection longer
than `pool_wait_s` gets StorageUnavailable (503 with Retry-After).

Idle connections are closed after `idle_s` (DB_POOL_IDLE_S) and by
`close()` (process shutdown). A broken connection is discarded together
with the idle ones (lost with it, as after a restart or terminated
backends); outside a transaction the statement is retried once on a fresh one. Opening a
connection includes the session settings after it (statement_timeout, UTC):
a network failure anywhere in that set-up is retried once, then answered as
StorageUnavailable, never as a 500.

Database errors are translated (chalicelib.db.errors) into typed errors whose messages say what
was wrong in the caller's terms; SQLSTATEs and the database's own text go to
the server log only.
"""
from __future__ import annotations

import functools
import logging
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from chalicelib.db.errors import translate
from chalicelib.db.pipeline import Pipeline
from chalicelib.db.urls import parse_database_url
from chalicelib.db.wire import no_delay, run_bound, run_prepared
from chalicelib.errors import StorageUnavailable, invalid_input

log = logging.getLogger("stepflow.db")


def quote_ident(name: str) -> str:
    """The one escape helper for identifiers (table, column, partition names)."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise invalid_input([], f"invalid identifier: {name!r}", "identifier")
    return '"' + name.replace('"', '""') + '"'


_PREPARED: set[str] = set()
_BEGIN = ("START TRANSACTION",)
_STALE_PREPARED = ("26000", "0A000")   # statement gone (DISCARD/DEALLOCATE), cached plan's result type changed


def prepared(sql: str) -> str:
    """Mark `sql`, a fixed statement of a hot path whose plan does not depend on its
    values, to run as a named statement prepared once per connection
    (chalicelib.db.wire.run_prepared); answers `sql`."""
    _PREPARED.add(sql)
    return sql


@functools.lru_cache(maxsize=2048)
def _statement(sql: str):
    from pg8000.native import to_statement
    return to_statement(sql)


class Database(Pipeline):
    def __init__(self, url: str, statement_timeout_ms: int = 25_000, connect_timeout_s: float = 5.0,
                 application_name: str = "stepflow", credentials: "Callable[[bool], dict] | None" = None,
                 max_connections: int = 8, idle_s: float = 60.0, pool_wait_s: float = 5.0):
        """`credentials(refresh)` (optional) returns {"username", "password"}
        to use instead of the URL's; it is called again with refresh=True
        after an authentication failure (rotated RDS password)."""
        self.url = url
        self.params = parse_database_url(url)
        self.credentials = credentials
        self.statement_timeout_ms = statement_timeout_ms
        self.connect_timeout_s = connect_timeout_s
        self.application_name = application_name
        self.max_connections = max(1, int(max_connections))
        self.idle_s = idle_s
        self.pool_wait_s = pool_wait_s
        self._local = threading.local()      # the thread's pinned connection and depth
        self._cond = threading.Condition()
        self._idle: list[tuple[Any, float]] = []   # (connection, returned at), newest last
        self._open = 0                          # idle + borrowed + being opened
        self._init_pipeline()                   # statements sent without waiting (chalicelib.db.pipeline)

    # -- connection lifecycle -------------------------------------------------
    def connect(self, timeout: float | None = None):
        """A new connection with the session settings applied. A network
        failure during set-up is retried once on a new connection."""
        for attempt in (0, 1):
            try:
                return self._connect_once(timeout)
            except StorageUnavailable:
                if attempt == 1:
                    raise
                time.sleep(0.05)
        raise AssertionError("unreachable")

    def _connect_once(self, timeout: float | None):
        # pg8000 (with scramp/asn1crypto) costs ~40 ms to import: on first use only.
        import pg8000.native
        from pg8000.exceptions import DatabaseError, InterfaceError
        params = dict(self.params)
        conn = None
        for attempt in (0, 1):
            if self.credentials is not None:
                creds = self.credentials(attempt == 1)
                params["user"], params["password"] = creds["username"], creds["password"]
            try:
                conn = pg8000.native.Connection(
                    **params, timeout=timeout or self.connect_timeout_s,
                    application_name=self.application_name)
                break
            except DatabaseError as exc:
                info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
                # 28P01 invalid_password: the secret may have rotated; read it again once.
                if info.get("C") == "28P01" and self.credentials is not None and attempt == 0:
                    continue
                log.warning("database refused the connection: %s %s", info.get("C"), info.get("M", exc))
                raise StorageUnavailable("the database refused the connection") from exc
            except (InterfaceError, OSError) as exc:
                log.warning("cannot connect to the database: %s", exc)
                raise StorageUnavailable("cannot connect to the database") from exc
        if conn is None:  # both attempts refused (a rotated secret read again, still refused)
            raise StorageUnavailable("the database refused the connection")
        try:
            # The socket timeout above bounds connect; queries are bounded by
            # statement_timeout on the server (plus a generous socket timeout).
            conn._usock.settimeout(max(self.statement_timeout_ms / 1000 + 5, self.connect_timeout_s))
            no_delay(conn)
            conn.run(f"SET statement_timeout = {int(self.statement_timeout_ms)}")
            conn.run("SET TIME ZONE 'UTC'")
        except (InterfaceError, DatabaseError, OSError) as exc:
            _close_quietly(conn)
            log.warning("database session set-up failed: %s", exc)
            raise StorageUnavailable("lost the database connection while opening it") from exc
        return conn

    def _acquire(self, drain: bool = True):
        """A connection for the calling thread: an idle one (its unread answers read
        first unless `drain` is false), a new one while under the bound, or wait for
        one to come back."""
        from pg8000.exceptions import InterfaceError
        while True:
            conn = self._borrow()
            if not drain:
                return conn
            try:
                self._drain(conn)
                return conn
            except (InterfaceError, OSError):
                self._give_back(conn, broken=True)   # its lost statements are re-run; take another

    def _borrow(self):
        deadline = time.monotonic() + self.pool_wait_s
        with self._cond:
            while True:
                self._close_expired()
                if self._idle:
                    return self._idle.pop()[0]
                if self._open < self.max_connections:
                    self._open += 1
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StorageUnavailable(
                        f"all {self.max_connections} database connections are busy; retry shortly")
                self._cond.wait(left)
        try:
            return self.connect()
        except BaseException:
            with self._cond:
                self._open -= 1
                self._cond.notify_all()
            raise

    def _give_back(self, conn, broken: bool = False) -> None:
        if broken:
            self._abandon(conn)
        with self._cond:
            if broken:
                self._open -= 1
            else:
                self._idle.append((conn, time.monotonic()))
            self._cond.notify_all()
        if broken:
            _close_quietly(conn)

    def _close_expired(self) -> None:
        """Under the lock: close connections idle for longer than idle_s."""
        if not self._idle:
            return
        limit = time.monotonic() - self.idle_s
        while self._idle and self._idle[0][1] < limit:
            conn, _ = self._idle.pop(0)
            self._open -= 1
            self._abandon(conn, idle=True)
            _close_quietly(conn)

    def close_idle(self) -> int:
        """Close every idle connection now; answers how many were closed."""
        with self._cond:
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            self._cond.notify_all()
        for conn, _ in idle:
            self._abandon(conn)
            _close_quietly(conn)
        return len(idle)

    def close(self) -> None:
        """Close the calling thread's pinned connection (if any) and every idle one."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            self._local.depth = 0
            self._give_back(conn, broken=True)
        try:   # what was sent without waiting: read (and re-run what was lost) before closing
            self.settle()
            self._retry_lost()
        except Exception as exc:  # noqa: BLE001 - closing goes on
            log.warning("answers left unread at close: %s", type(exc).__name__)
        self.close_idle()

    @property
    def open_connections(self) -> int:
        return self._open

    @property
    def in_transaction(self) -> bool:
        return getattr(self._local, "depth", 0) > 0

    @contextmanager
    def session(self) -> Iterator["Database"]:
        """Pin one connection to the calling thread for the block (session-level
        state such as advisory locks). Transactions inside it use it too."""
        if getattr(self._local, "conn", None) is not None:
            yield self
            return
        self._local.conn = self._acquire()
        self._local.depth = 0
        self._local.fresh = True     # nothing ran on it yet: a broken one may be swapped
        try:
            yield self
        finally:
            conn, self._local.conn = self._local.conn, None
            if conn is not None:
                self._give_back(conn)

    # -- statements ----------------------------------------------------------
    def _run(self, sql: str, params: dict) -> tuple[list, Any]:
        """Returns (rows, context); context has .columns and .row_count."""
        from pg8000.exceptions import DatabaseError, InterfaceError
        for attempt in (0, 1):
            pinned = getattr(self._local, "conn", None)
            begin = pinned is not None and getattr(self._local, "begin", False)   # transaction() deferred it
            if attempt == 0 and (pinned is None or begin):
                self.settle()   # it sees what this process sent without waiting (chalicelib.db.pipeline)
                self._retry_lost()
            conn = pinned if pinned is not None else self._acquire()
            try:
                if params:
                    # pg8000.native re-parses `:name` SQL on every run; the
                    # parse is cached per SQL text (~0.5 ms a call saved), and
                    # the statement is one round trip (chalicelib.db.wire).
                    statement, make_vals = _statement(sql)
                    if sql in _PREPARED:
                        if begin:
                            conn.execute_simple("START TRANSACTION")
                        ctx = run_prepared(conn, statement, make_vals(params))
                    else:
                        ctx = run_bound(conn, statement, make_vals(params), before=_BEGIN if begin else ())
                else:
                    ctx = conn.execute_simple(("START TRANSACTION; " if begin else "") + sql)
                if begin:
                    self._local.begin = False
            except DatabaseError as exc:
                if begin:
                    self._local.begin = False   # it may have started: the caller's rollback ends it
                info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
                if info.get("C") in _STALE_PREPARED and sql in _PREPARED:
                    conn.__dict__.pop("_stepflow_prepared", None)   # prepared again on the next use
                    if attempt == 0 and not self.in_transaction:   # nothing was lost: run it again
                        if pinned is None:
                            self._give_back(conn)
                        continue
                if pinned is None:
                    self._give_back(conn)
                raise translate(exc) from exc
            except (InterfaceError, OSError) as exc:
                # A broken connection is retried once on a fresh one (an idle
                # connection may have gone stale), unless work already done on
                # it (a transaction, session state) would be lost.
                retry = attempt == 0 and (pinned is None or getattr(self._local, "fresh", False))
                if pinned is not None:
                    self._local.conn = None
                    if not (retry and begin):   # a transaction whose START had not run yet goes on
                        self._local.depth = 0
                self._give_back(conn, broken=True)
                if retry:
                    # its idle siblings were most likely lost with it (a restart, a failover,
                    # terminated backends): the retry must not take another dead one
                    self.close_idle()
                log.warning("lost a database connection: %s", exc)
                if not retry:
                    raise StorageUnavailable("lost the database connection") from exc
                if pinned is not None:
                    self._local.conn = self._acquire()
                continue
            if pinned is None:
                self._give_back(conn)
                self._retry_lost()
            else:
                self._local.fresh = False
            return ctx.rows or [], ctx
        raise AssertionError("unreachable")

    def execute_nowait(self, sql: str, _on_lost: Callable[["Database"], Any] | None = None,
                       **params: Any) -> None:
        """Send `sql` (a `prepared()` statement) without waiting for its answer
        (chalicelib.db.pipeline): read, and logged if it failed, before the connection's
        next statement that waits; `_on_lost(db)` (idempotent) is called once later if it
        failed or its outcome became unknown. Inside a transaction or session it runs as
        `execute` does."""
        from pg8000.exceptions import DatabaseError, InterfaceError
        if sql not in _PREPARED or getattr(self._local, "conn", None) is not None:
            self._run(sql, params)
            return
        conn = self._acquire(drain=False)
        try:
            statement, make_vals = _statement(sql)
            self._send_nowait(conn, statement, make_vals(params), _on_lost)
        except DatabaseError as exc:   # the statement could not be prepared
            conn.__dict__.pop("_stepflow_prepared", None)
            self._give_back(conn)
            raise translate(exc) from exc
        except (InterfaceError, OSError) as exc:
            self._give_back(conn, broken=True)
            raise StorageUnavailable("lost the database connection") from exc
        self._give_back(conn)
        self._retry_lost()

    def query(self, sql: str, **params: Any) -> list[dict]:
        rows, ctx = self._run(sql, params)
        if not ctx.columns:
            return []
        names = [c["name"] for c in ctx.columns]
        return [dict(zip(names, row, strict=True)) for row in rows]

    def one(self, sql: str, **params: Any) -> dict | None:
        rows = self.query(sql, **params)
        return rows[0] if rows else None

    def scalar(self, sql: str, **params: Any) -> Any:
        rows, _ = self._run(sql, params)
        return rows[0][0] if rows else None

    def execute(self, sql: str, **params: Any) -> int:
        _, ctx = self._run(sql, params)
        return ctx.row_count

    def page(self, sql: str, *, order_by: str, limit: int, offset: int, **params: Any) -> tuple[list[dict], int]:
        """The one pager: a page of `sql`'s rows and the total, in one round trip.

        `sql` is a plain SELECT (no ORDER BY, LIMIT or OFFSET); `order_by` names
        its output columns (a constant of the caller's, never input). Rows come
        back without the counting column; past the last page the total is
        counted on its own."""
        rows = self.query(f"SELECT *, count(*) OVER () AS _page_total FROM ({sql}) AS _page "
                          f"ORDER BY {order_by} LIMIT :_page_limit OFFSET :_page_offset",
                          _page_limit=limit, _page_offset=offset, **params)
        if rows:
            total = int(rows[0]["_page_total"])
        else:
            total = int(self.scalar(f"SELECT count(*) FROM ({sql}) AS _page", **params) or 0)
        for r in rows:
            del r["_page_total"]
        return rows, total

    @contextmanager
    def transaction(self) -> Iterator["Database"]:
        """One transaction per operation; nested calls join the outer one."""
        if self.in_transaction:
            self._local.depth += 1
            try:
                yield self
            finally:
                self._local.depth -= 1
            return
        with self.session():
            # START TRANSACTION travels with the first statement (one round trip less)
            self._local.begin = True
            self._local.depth = 1
            try:
                yield self
            except BaseException:
                self._local.depth = 0
                conn = getattr(self._local, "conn", None)
                if conn is not None and not self._local.begin:
                    try:
                        self._drain(conn)
                        conn.run("ROLLBACK")
                    except Exception:
                        self._local.conn = None
                        self._give_back(conn, broken=True)
                self._local.begin = False
                raise
            else:
                self._local.depth = 0
                if self._local.begin:   # no statement ran: nothing to commit
                    self._local.begin = False
                else:
                    self._run("COMMIT", {})


def _close_quietly(conn) -> None:
    try:
        conn.close()
    except Exception:
        pass
