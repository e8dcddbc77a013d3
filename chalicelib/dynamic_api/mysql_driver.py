"""The MySQL / MariaDB driver of the dynamic APIs (PyMySQL), beside
chalicelib.dynamic_api.drivers' PostgreSQL one: the same operations and
session rules (see that module): `START TRANSACTION READ ONLY|READ WRITE`, the
timeout per statement (MariaDB `SET STATEMENT max_statement_time = s FOR ...`)
or per session (MySQL `max_execution_time`, undone by the reset), the reset by
COM_RESET_CONNECTION then `SET NAMES`, and errors translated the same way.
PyMySQL is imported on first use.
"""
from __future__ import annotations

import logging

from chalicelib.errors import ConnectionFailed, QueryError, RequestTimeout, invalid_input

from .dialects import BoundStatement
from .drivers import (
    COM_RESET_CONNECTION,
    ConnectParams,
    DbConnection,
    QueryResult,
    ReadOnlyViolation,
    _conn_failed,
    _refused,
)

log = logging.getLogger("stepflow.dynamic_api")


class MySql:
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
        flavor = "mariadb" if "mariadb" in (raw.get_server_info() or "").lower() else "mysql"
        return DbConnection(raw, "mysql", flavor)

    @staticmethod
    def execute(conn: DbConnection, stmt: BoundStatement, max_rows: int | None = None) -> QueryResult:
        import pymysql.cursors
        sql = stmt.sql
        if conn.flavor == "mariadb" and conn.timeout_ms:
            sql = f"SET STATEMENT max_statement_time = {conn.timeout_ms / 1000.0:.3f} FOR {sql}"
        truncated = False
        try:
            if not max_rows or stmt.sql.lstrip()[:4].upper() == "CALL":
                # buffered (CALL answers extra result sets, read to the end)
                with conn.raw.cursor() as cur:
                    rowcount = cur.execute(sql, stmt.params)
                    cols = [d[0] for d in (cur.description or [])]
                    rows = list(cur.fetchall()) if cur.description else []
                    while cur.nextset():
                        pass
                if max_rows and len(rows) > max_rows:
                    truncated, rows = True, rows[:max_rows]
                return QueryResult(cols, rows, rowcount, truncated)
            cur = conn.raw.cursor(pymysql.cursors.SSCursor)    # unbuffered: rows are read as fetched
            rowcount = cur.execute(sql, stmt.params)
            cols = [d[0] for d in (cur.description or [])]
            rows = list(cur.fetchmany(max_rows + 1)) if cur.description else []
            if len(rows) > max_rows:
                # the rest is never read: the connection is dropped instead of drained
                truncated, rows = True, rows[:max_rows]
                conn.broken = True
                if cur._result is not None:
                    cur._result.unbuffered_active = False      # nothing tries to drain it later
                cur._result = conn.raw._result = None
                conn.raw._force_close()
            else:
                cur.close()
        except Exception as exc:
            raise MySql.translate(conn, exc) from exc
        return QueryResult(cols, rows, rowcount, truncated)

    @staticmethod
    def run_simple(conn: DbConnection, sql: str) -> None:
        try:
            with conn.raw.cursor() as cur:
                cur.execute(sql)
        except Exception as exc:
            raise MySql.translate(conn, exc) from exc

    @staticmethod
    def begin(conn: DbConnection, read_only: bool, ms: int) -> None:
        if conn.flavor != "mariadb":
            MySql.run_simple(conn, f"SET SESSION max_execution_time = {int(ms)}")
        MySql.run_simple(conn, "START TRANSACTION READ ONLY" if read_only else "START TRANSACTION READ WRITE")

    @staticmethod
    def renew_timeout(conn: DbConnection) -> None:
        """MariaDB's timeout is part of each statement; MySQL's is the session's."""

    @staticmethod
    def reset(conn: DbConnection) -> None:
        raw = conn.raw
        raw._execute_command(COM_RESET_CONNECTION, b"")
        raw._read_ok_packet()
        raw.set_character_set(raw.charset)

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
                return ConnectionFailed(f"database connection failed: {exc.args[-1]}", {"reason": "connection_lost"})
        if isinstance(exc, pymysql.err.MySQLError) and exc.args and exc.args[0] == 1792:
            return ReadOnlyViolation(str(exc.args[-1]))
        if isinstance(exc, pymysql.err.DataError) and exc.args:
            return invalid_input([], f"a value was refused by the database: {exc.args[-1]}", "invalid_value",
                             reason="invalid_value")
        if isinstance(exc, pymysql.err.MySQLError) and exc.args and isinstance(exc.args[0], int):
            log.info("dynamic API query refused by MySQL: errno %s: %s", exc.args[0], exc.args[-1])
            return _refused(str(exc.args[-1]), "refused_by_database")
        conn.broken = True
        if isinstance(exc, (pymysql.err.InterfaceError, OSError, EOFError)):
            return ConnectionFailed(f"database connection failed: {exc}")
        return QueryError(f"the query failed: {exc}")
