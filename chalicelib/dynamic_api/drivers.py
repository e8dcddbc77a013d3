"""Connections to the databases dynamic APIs run on: pg8000 (here) and PyMySQL
(chalicelib.dynamic_api.mysql_driver).

One small wrapper per driver gives the executor the same operations, and
the session rules every invocation relies on (DESIGN 15):

* `begin(read_only, timeout_ms)` opens the invocation's transaction with its
  access mode and timeout applied to that transaction only: PostgreSQL
  `BEGIN READ ONLY|READ WRITE; SET LOCAL statement_timeout = N`, sent in the
  same round trip as the transaction's first statement (which does not run
  if they fail; `renew_timeout` likewise rides with the next one); MySQL
  `START TRANSACTION READ ONLY|READ WRITE` with the timeout per statement
  (MariaDB `SET STATEMENT max_statement_time = s FOR …`, MySQL
  `max_execution_time` set for the session, undone by the reset).
* `end(commit)` commits (writes of a published API); reads and draft tests
  are rolled back by `reset` (failures at once by `rollback`). A read's
  session-level `set_config`/`SET` made inside the transaction is undone
  with it.
* `reset()` runs when a connection goes back to the pool and rolls back a
  transaction still open: PostgreSQL `ROLLBACK` + the statements of
  `DISCARD ALL` in one message (settings, role, temp tables, prepared
  statements, advisory locks, LISTEN), MySQL COM_RESET_CONNECTION (rolls
  back; session variables, user variables, temp tables, locks) then
  `SET NAMES`. A connection whose reset fails is closed, never reused.
* errors: statement timeout -> RequestTimeout (408); a write refused by the
  read-only transaction -> ReadOnlyViolation (403); connection lost ->
  ConnectionFailed (503, connection discarded); anything else the server
  refused -> QueryRefused (422) with the server's message (its SQLSTATE/errno
  stays in the server log); a failure that is neither -> QueryError (500).

Multi-statement text is refused by both protocols as used for API SQL
(pg8000 extended protocol, PyMySQL without CLIENT.MULTI_STATEMENTS).
"""
from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib.db.wire import no_delay, read_status_answer, run_bound
from chalicelib.errors import (
    ConnectionFailed,
    ConnectionRejected,
    PermissionDenied,
    QueryError,
    QueryRefused,
    RequestTimeout,
    invalid_input,
)

from .dialects import BoundStatement, normalize_db_type

CONNECT_TIMEOUT_S = 5
COM_RESET_CONNECTION = 0x1F
log = logging.getLogger("stepflow.dynamic_api")


class ReadOnlyViolation(PermissionDenied):
    """The statement tried to write inside a read-only transaction."""

    def __init__(self, server_message: str):
        super().__init__(
            "this API runs in a read-only transaction (GET APIs and reads never write); "
            f"the database refused the statement: {server_message}",
            {"reason": "read_only_transaction",
             "hint": "writes need a POST/PUT/PATCH/DELETE API whose statement is an INSERT, UPDATE or DELETE"})


def _refused(message: str, category: str) -> QueryRefused:
    return QueryRefused(f"the query failed: {message}", {"reason": category})


@dataclass
class ConnectParams:
    db_type: str
    host: str
    port: int
    username: str
    password: str | None
    database: str
    connect_timeout: float = CONNECT_TIMEOUT_S


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple]
    rowcount: int
    truncated: bool = False          # more rows than `max_rows` existed (they were not fetched)

    def dicts(self) -> list[dict]:
        cols = self.columns
        return [dict(zip(cols, row, strict=False)) for row in self.rows]


@dataclass
class DbConnection:
    """A live connection plus what we know about its session."""
    raw: Any
    db_type: str
    flavor: str = ""                 # "mariadb" / "mysql" / "postgresql"
    timeout_ms: int | None = None    # the session statement timeout currently set
    created: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)
    broken: bool = False
    generation: int = 0
    reused: bool = False
    in_transaction: bool = False
    pending: list = field(default_factory=list)   # PostgreSQL: BEGIN/SET LOCAL sent with the next statement
    unread: str | None = None        # PostgreSQL: the reset sent at give-back, its answer read at take

    # --- dispatch -------------------------------------------------------------
    def execute(self, stmt: BoundStatement, max_rows: int | None = None, *, last_read: bool = False) -> QueryResult:
        """Run `stmt`; with `max_rows`, at most that many rows are fetched from the
        server (`truncated` tells whether more existed). `last_read`: the last
        statement of a transaction that commits nothing; PostgreSQL sends the session
        reset (its rollback) in the same write, and the connection is clean from then on."""
        if last_read and self.db_type == "postgresql":
            return _Pg.execute(self, stmt, max_rows, reset_after=True)
        return _DRIVERS[self.db_type].execute(self, stmt, max_rows)

    def begin(self, *, read_only: bool, timeout_ms: int) -> None:
        """Open the invocation's transaction: access mode and timeout for it alone.
        The socket gets the timeout plus 5 s so a silent network cannot hang an
        invocation forever."""
        self.timeout_ms = int(timeout_ms)
        sock = getattr(self.raw, "_usock", None) or getattr(self.raw, "_sock", None)
        if sock is not None:
            try:
                sock.settimeout(self.timeout_ms / 1000.0 + 5)
            except OSError:
                pass
        _DRIVERS[self.db_type].begin(self, read_only, self.timeout_ms)
        self.in_transaction = True

    def renew_timeout(self) -> None:
        """Apply the timeout again before a further statement of the same
        transaction (a statement may have changed it for the transaction)."""
        _DRIVERS[self.db_type].renew_timeout(self)

    def end(self, commit: bool) -> None:
        if not self.in_transaction:
            return
        self.in_transaction = False
        if commit:
            _DRIVERS[self.db_type].run_simple(self, "COMMIT")
        else:
            self.rollback()

    def rollback(self) -> None:
        self.in_transaction = False
        if self.unread is not None:   # the reset sent with the last statement rolled it back already
            return
        try:
            _DRIVERS[self.db_type].run_simple(self, "ROLLBACK")
        except Exception:
            self.broken = True

    def reset(self) -> None:
        """Back to a fresh session before the connection is pooled again; an open
        transaction is rolled back by the same message. PostgreSQL: sent without
        waiting (the server runs it on arrival); `settle()` reads the answer before
        the connection is used again."""
        if self.unread is None:        # not sent with the last statement already
            try:
                _DRIVERS[self.db_type].reset(self)
            except Exception:
                log.warning("session reset failed; closing the connection", exc_info=True)
                self.broken = True
        self.in_transaction = False
        self.timeout_ms = None

    def settle(self) -> bool:
        """Read the answer of the reset sent at give-back: False (and broken) when it
        failed, so the connection is closed, never used with an unclean session."""
        if self.unread is None:
            return not self.broken
        sql, self.unread = self.unread, None
        try:
            read_status_answer(self.raw, sql)   # db.wire: pg8000's reader without the rows
        except Exception:
            log.warning("session reset failed; closing the connection", exc_info=True)
            self.broken = True
        return not self.broken

    def ping(self) -> None:
        _DRIVERS[self.db_type].run_simple(self, "SELECT 1")

    def close(self) -> None:
        try:
            self.raw.close()
        except Exception:
            pass


def _conn_failed(params: ConnectParams, exc: BaseException) -> ConnectionFailed:
    text = _pg_text(exc) or type(exc).__name__
    suggestions = [
        f"check that {params.db_type} is listening on {params.host}:{params.port}",
        "check the username, password and database name",
        "check network access (security groups, firewall) from the gateway to the database",
    ]
    details = {"db_type": params.db_type, "hosts": [f"{params.host}:{params.port}"],
               "database": params.database, "error_detail": text[:500], "suggestions": suggestions}
    reason = _rejection(exc)
    if reason:   # the server answered and refused the pool as configured: retrying cannot help
        return ConnectionRejected(f"{params.db_type} at {params.host}:{params.port} refused the pool's "
                                  f"{reason.replace('_', ' ')}: {text[:300]}", {**details, "reason": reason})
    return ConnectionFailed(f"cannot connect to {params.db_type} at {params.host}:{params.port}: {text[:300]}",
                            details)


# Server answers to a connect that say the configuration is wrong, not that the server is away:
# PostgreSQL SQLSTATEs (28xxx authorization, 3D000 no such database) and MySQL/MariaDB errnos.
_PG_REJECTIONS = {"28P01": "credentials", "28000": "credentials", "3D000": "database"}
_MY_REJECTIONS = {1045: "credentials", 1044: "credentials", 1698: "credentials", 1049: "database"}


def _rejection(exc: BaseException) -> str | None:
    arg = exc.args[0] if exc.args else None
    if isinstance(arg, dict):
        return _PG_REJECTIONS.get(str(arg.get("C", "")))
    if isinstance(arg, int):
        return _MY_REJECTIONS.get(arg)
    return None


_PG_RESET = ("CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DEALLOCATE ALL; UNLISTEN *; "
             "SELECT pg_advisory_unlock_all(); DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES")


class _Pg:
    @staticmethod
    def connect(params: ConnectParams) -> DbConnection:
        import pg8000.native
        try:
            raw = pg8000.native.Connection(
                user=params.username, password=params.password or None, host=params.host,
                port=int(params.port), database=params.database, timeout=params.connect_timeout,
                application_name="stepflow-dynamic-api",
            )
        except Exception as exc:
            raise _conn_failed(params, exc) from exc
        # Socket timeout only guards the connect; `begin` sets one per invocation.
        try:
            raw._usock.settimeout(None)
            no_delay(raw)   # a statement over 8 KiB would wait ~40 ms for the server's delayed ACK
        except Exception as exc:
            raw.close()
            raise _conn_failed(params, exc) from exc
        return DbConnection(raw, "postgresql", "postgresql")

    @staticmethod
    def execute(conn: DbConnection, stmt: BoundStatement, max_rows: int | None = None,
                reset_after: bool = False) -> QueryResult:
        try:
            # one round trip per statement; with max_rows, at most max_rows + 1 rows are sent
            before, conn.pending = conn.pending, []
            then = ""
            if reset_after:   # the reset rides with the statement; its answer is read at the next take
                then = conn.unread = "ROLLBACK; " + _PG_RESET
                conn.in_transaction = False
            ctx = run_bound(conn.raw, stmt.sql, stmt.params, max_rows + 1 if max_rows else 0, before, then)
        except Exception as exc:
            raise _Pg.translate(conn, exc) from exc
        cols = [c["name"] for c in (ctx.columns or [])]
        rows = ctx.rows or []
        truncated = max_rows is not None and max_rows > 0 and len(rows) > max_rows
        if truncated:
            rows = rows[:max_rows]
        return QueryResult(cols, rows, ctx.row_count, truncated)

    @staticmethod
    def run_simple(conn: DbConnection, sql: str) -> None:
        if conn.pending:
            sql, conn.pending = "; ".join([*conn.pending, sql]), []
        try:
            conn.raw.run(sql)
        except Exception as exc:
            raise _Pg.translate(conn, exc) from exc

    # BEGIN and SET LOCAL travel with the transaction's next statement (one round trip; when
    # they fail, the statement is not run): chalicelib.db.wire.run_bound(before=...)
    @staticmethod
    def begin(conn: DbConnection, read_only: bool, ms: int) -> None:
        mode = "READ ONLY" if read_only else "READ WRITE"
        conn.pending = [f"BEGIN {mode}", f"SET LOCAL statement_timeout = {int(ms)}"]

    @staticmethod
    def renew_timeout(conn: DbConnection) -> None:
        conn.pending.append(f"SET LOCAL statement_timeout = {int(conn.timeout_ms or 0)}")

    @staticmethod
    def reset(conn: DbConnection) -> None:
        # DISCARD ALL, spelled out so that it may follow the ROLLBACK in one message
        # (DISCARD ALL itself refuses to run in a multi-statement message)
        conn.pending = []
        from pg8000.core import _flush
        sql = ("ROLLBACK; " if conn.in_transaction else "") + _PG_RESET
        conn.raw.send_QUERY(sql)
        _flush(conn.raw._sock)
        conn.unread = sql

    @staticmethod
    def translate(conn: DbConnection, exc: BaseException) -> Exception:
        import pg8000.exceptions as pe
        if isinstance(exc, pe.DatabaseError) and exc.args and isinstance(exc.args[0], dict):
            info = exc.args[0]
            code, message = info.get("C", ""), info.get("M", str(exc))
            if code == "57014":
                return RequestTimeout("the query exceeded the API's timeout and was cancelled",
                                      {"timeout_ms": conn.timeout_ms})
            if code.startswith("08") or code in ("57P01", "57P02", "57P03"):
                conn.broken = True
                return ConnectionFailed(f"database connection failed: {message}", {"reason": "connection_lost"})
            if code == "25006":
                return ReadOnlyViolation(message)
            if code.startswith("22"):   # data exceptions: a bound value the column type refuses
                return invalid_input([], f"a value was refused by the database: {message}", "invalid_value",
                                     reason="invalid_value")
            log.info("dynamic API query refused by PostgreSQL: SQLSTATE %s: %s", code, message)
            return _refused(message, "refused_by_database")
        conn.broken = True
        if isinstance(exc, (pe.InterfaceError, OSError, socket.timeout, EOFError, AttributeError)):
            return ConnectionFailed(f"database connection failed: {_pg_text(exc)}")
        return QueryError(f"the query failed: {_pg_text(exc)}")


def _pg_text(exc: BaseException) -> str:
    """pg8000 errors carry the server's fields as a dict ({'S', 'C', 'M', ...}): its message."""
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else None
    return str(info.get("M") or info) if info is not None else str(exc)


class _Driver(Protocol):
    """What each server's driver class answers (static methods)."""

    def connect(self, params: ConnectParams) -> DbConnection: ...
    def execute(self, conn: DbConnection, stmt: BoundStatement, max_rows: int | None = None) -> QueryResult: ...
    def run_simple(self, conn: DbConnection, sql: str) -> None: ...
    def begin(self, conn: DbConnection, read_only: bool, ms: int) -> None: ...
    def renew_timeout(self, conn: DbConnection) -> None: ...
    def reset(self, conn: DbConnection) -> None: ...


from .mysql_driver import MySql  # noqa: E402 - it builds on the classes above

_DRIVERS: dict[str, _Driver] = {"postgresql": _Pg, "mysql": MySql}


def connect(params: ConnectParams) -> DbConnection:
    return _DRIVERS[normalize_db_type(params.db_type)].connect(params)
