"""Connections to the databases dynamic APIs run on: pg8000 and PyMySQL.

One small wrapper per driver gives the executor the same operations:
execute a BoundStatement, run a write in a transaction, set the statement
timeout (only when it changes), and classify errors:

* statement timeout                    -> RequestTimeout (408)
* connection lost / cannot connect     -> ConnectionFailed (connection discarded)
* anything the server refused          -> QueryError with the server's code

Sessions are read-only by default (PostgreSQL `default_transaction_read_only`,
MySQL `SET SESSION TRANSACTION READ ONLY`); writes run inside
`START TRANSACTION READ WRITE` … `COMMIT`. Multi-statement text is refused by
both protocols as used here (pg8000 extended protocol, PyMySQL without
CLIENT.MULTI_STATEMENTS).
"""
from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Any

from chalicelib.web.errors import ConnectionFailed, QueryError, RequestTimeout, ValidationError

from .dialects import BoundStatement, normalize_db_type

CONNECT_TIMEOUT_S = 5


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

    def dicts(self) -> list[dict]:
        cols = self.columns
        return [dict(zip(cols, row)) for row in self.rows]


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

    # --- dispatch -------------------------------------------------------------
    def execute(self, stmt: BoundStatement) -> QueryResult:
        return _DRIVERS[self.db_type].execute(self, stmt)

    def set_timeout(self, ms: int | None) -> None:
        """Server-side statement timeout; the socket gets the same plus 5 s so a
        silent network cannot hang an invocation forever."""
        if ms != self.timeout_ms:
            _DRIVERS[self.db_type].set_timeout(self, ms)
            self.timeout_ms = ms
            sock = getattr(self.raw, "_usock", None) or getattr(self.raw, "_sock", None)
            if sock is not None:
                try:
                    sock.settimeout(ms / 1000.0 + 5 if ms else None)
                except OSError:
                    pass

    def begin_write(self) -> None:
        _DRIVERS[self.db_type].run_simple(self, "START TRANSACTION READ WRITE")

    def commit(self) -> None:
        _DRIVERS[self.db_type].run_simple(self, "COMMIT")

    def rollback(self) -> None:
        try:
            _DRIVERS[self.db_type].run_simple(self, "ROLLBACK")
        except Exception:
            self.broken = True

    def ping(self) -> None:
        _DRIVERS[self.db_type].run_simple(self, "SELECT 1")

    def close(self) -> None:
        try:
            self.raw.close()
        except Exception:
            pass


def _conn_failed(params: ConnectParams, exc: BaseException) -> ConnectionFailed:
    text = str(exc) or type(exc).__name__
    suggestions = [
        f"check that {params.db_type} is listening on {params.host}:{params.port}",
        "check the username, password and database name",
        "check network access (security groups, firewall) from the gateway to the database",
    ]
    return ConnectionFailed(
        f"cannot connect to {params.db_type} at {params.host}:{params.port}: {text[:300]}",
        {"db_type": params.db_type, "hosts": [f"{params.host}:{params.port}"],
         "database": params.database, "error_detail": text[:500], "suggestions": suggestions},
    )


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
        # Socket timeout only guards the connect; statement timeouts are server-side.
        try:
            raw._usock.settimeout(None)
            raw.run("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        except Exception as exc:
            raw.close()
            raise _conn_failed(params, exc) from exc
        return DbConnection(raw, "postgresql", "postgresql")

    @staticmethod
    def execute(conn: DbConnection, stmt: BoundStatement) -> QueryResult:
        try:
            ctx = conn.raw.execute_unnamed(stmt.sql, stmt.params)
        except Exception as exc:
            raise _Pg.translate(conn, exc) from exc
        cols = [c["name"] for c in (ctx.columns or [])]
        rows = ctx.rows or []
        return QueryResult(cols, rows, ctx.row_count)

    @staticmethod
    def run_simple(conn: DbConnection, sql: str) -> None:
        try:
            conn.raw.run(sql)
        except Exception as exc:
            raise _Pg.translate(conn, exc) from exc

    @staticmethod
    def set_timeout(conn: DbConnection, ms: int | None) -> None:
        _Pg.run_simple(conn, f"SET statement_timeout = {int(ms or 0)}")

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
                return ConnectionFailed(f"database connection failed: {message}", {"sqlstate": code})
            if code.startswith("22"):   # data exceptions: a bound value the column type refuses
                return ValidationError(f"a value was refused by the database: {message}", {"sqlstate": code})
            return QueryError(f"the query failed: {message}", {"sqlstate": code})
        conn.broken = True
        if isinstance(exc, (pe.InterfaceError, OSError, socket.timeout, EOFError, AttributeError)):
            return ConnectionFailed(f"database connection failed: {exc}")
        return QueryError(f"the query failed: {exc}")


class _My:
    @staticmethod
    def connect(params: ConnectParams) -> DbConnection:
        import pymysql
        try:
            raw = pymysql.connect(
                host=params.host, port=int(params.port), user=params.username,
                password=params.password or "", database=params.database, charset="utf8mb4",
                connect_timeout=params.connect_timeout, autocommit=True,
            )
        except Exception as exc:
            raise _conn_failed(params, exc) from exc
        try:
            flavor = "mariadb" if "mariadb" in (raw.get_server_info() or "").lower() else "mysql"
            with raw.cursor() as cur:
                cur.execute("SET SESSION TRANSACTION READ ONLY")
        except Exception as exc:
            raw.close()
            raise _conn_failed(params, exc) from exc
        return DbConnection(raw, "mysql", flavor)

    @staticmethod
    def execute(conn: DbConnection, stmt: BoundStatement) -> QueryResult:
        try:
            with conn.raw.cursor() as cur:
                rowcount = cur.execute(stmt.sql, stmt.params)
                cols = [d[0] for d in (cur.description or [])]
                rows = list(cur.fetchall()) if cur.description else []
                while cur.nextset():       # CALL returns an extra status result
                    pass
        except Exception as exc:
            raise _My.translate(conn, exc) from exc
        return QueryResult(cols, rows, rowcount)

    @staticmethod
    def run_simple(conn: DbConnection, sql: str) -> None:
        try:
            with conn.raw.cursor() as cur:
                cur.execute(sql)
        except Exception as exc:
            raise _My.translate(conn, exc) from exc

    @staticmethod
    def set_timeout(conn: DbConnection, ms: int | None) -> None:
        ms = int(ms or 0)
        if conn.flavor == "mariadb":
            _My.run_simple(conn, f"SET SESSION max_statement_time = {ms / 1000.0:.3f}")
        else:
            _My.run_simple(conn, f"SET SESSION max_execution_time = {ms}")

    @staticmethod
    def translate(conn: DbConnection, exc: BaseException) -> Exception:
        import pymysql
        if isinstance(exc, pymysql.err.OperationalError) and exc.args:
            code = exc.args[0]
            if code in (1969, 3024, 1317):   # MariaDB / MySQL statement timeout, query interrupted
                return RequestTimeout("the query exceeded the API's timeout and was cancelled",
                                      {"timeout_ms": conn.timeout_ms})
            if code in (2006, 2013, 2003, 2055, 1053):
                conn.broken = True
                return ConnectionFailed(f"database connection failed: {exc.args[-1]}", {"errno": code})
        if isinstance(exc, pymysql.err.DataError) and exc.args:
            return ValidationError(f"a value was refused by the database: {exc.args[-1]}", {"errno": exc.args[0]})
        if isinstance(exc, pymysql.err.MySQLError) and exc.args and isinstance(exc.args[0], int):
            return QueryError(f"the query failed: {exc.args[-1]}", {"errno": exc.args[0]})
        conn.broken = True
        if isinstance(exc, (pymysql.err.InterfaceError, OSError, EOFError)):
            return ConnectionFailed(f"database connection failed: {exc}")
        return QueryError(f"the query failed: {exc}")


_DRIVERS = {"postgresql": _Pg, "mysql": _My}


def connect(params: ConnectParams) -> DbConnection:
    return _DRIVERS[normalize_db_type(params.db_type)].connect(params)
