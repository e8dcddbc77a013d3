"""One PostgreSQL connection per container (per thread), plain SQL.

`Database.query/one/execute` take SQL with `:name` parameters (pg8000.native
binds them; values are never spliced). `transaction()` opens one transaction
on the thread's connection; calls made inside it (on the same Database) join
it. A broken connection is discarded and re-opened on the next call.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Iterator
from urllib.parse import unquote, urlparse

from chalicelib.web.errors import Conflict, QueryError, RequestTimeout, StorageUnavailable, ValidationError


def quote_ident(name: str) -> str:
    """The one escape helper for identifiers (table, column, partition names)."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise ValidationError(f"invalid identifier: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def parse_database_url(url: str) -> dict:
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        raise RuntimeError(f"DATABASE_URL must start with postgresql://, got {parsed.scheme!r}")
    params = {
        "user": unquote(parsed.username or "postgres"),
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "database": unquote(parsed.path.lstrip("/")) or "postgres",
    }
    if parsed.password:
        params["password"] = unquote(parsed.password)
    # Unix socket directory (pgserver) as ?host=/path
    for part in parsed.query.split("&"):
        if part.startswith("host="):
            params["unix_sock"] = unquote(part[5:]).rstrip("/") + f"/.s.PGSQL.{params['port']}"
            params.pop("host")
    return params


# SQLSTATE classes -> typed errors.
_UNIQUE_VIOLATION = "23505"
_CHECK_VIOLATION = "23514"
_NOT_NULL_VIOLATION = "23502"
_QUERY_CANCELED = "57014"
_INVALID_TEXT = "22P02"


def translate(exc: Exception) -> Exception:
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    code = info.get("C", "")
    message = info.get("M", str(exc))
    detail = {"sqlstate": code}
    if info.get("n"):
        detail["constraint"] = info["n"]
    if code == _UNIQUE_VIOLATION:
        return Conflict(f"already exists: {info.get('D', message)}", detail)
    if code in (_CHECK_VIOLATION, _NOT_NULL_VIOLATION, _INVALID_TEXT) or code.startswith("22"):
        return ValidationError(f"rejected by the database: {message}", detail)
    if code == _QUERY_CANCELED:
        return RequestTimeout("the database statement timed out", detail)
    return QueryError(f"database error: {message}", detail)


class Database:
    def __init__(self, url: str, statement_timeout_ms: int = 25_000, connect_timeout_s: float = 5.0,
                 application_name: str = "stepflow"):
        self.url = url
        self.params = parse_database_url(url)
        self.statement_timeout_ms = statement_timeout_ms
        self.connect_timeout_s = connect_timeout_s
        self.application_name = application_name
        self._local = threading.local()

    # -- connection lifecycle -------------------------------------------------
    def connect(self, timeout: float | None = None):
        # pg8000 (with scramp/asn1crypto) costs ~40 ms to import: on first use only.
        import pg8000.native
        from pg8000.exceptions import DatabaseError, InterfaceError
        try:
            conn = pg8000.native.Connection(
                **self.params, timeout=timeout or self.connect_timeout_s,
                application_name=self.application_name)
        except (InterfaceError, OSError) as exc:
            raise StorageUnavailable("cannot connect to the database", {"error_detail": str(exc)}) from exc
        except DatabaseError as exc:
            raise StorageUnavailable("the database refused the connection",
                                     {"error_detail": exc.args[0].get("M") if exc.args and isinstance(exc.args[0], dict) else str(exc)}) from exc
        # The socket timeout above bounds connect; queries are bounded by
        # statement_timeout on the server (plus a generous socket timeout).
        conn._usock.settimeout(max(self.statement_timeout_ms / 1000 + 5, self.connect_timeout_s))
        conn.run(f"SET statement_timeout = {int(self.statement_timeout_ms)}")
        conn.run("SET TIME ZONE 'UTC'")
        return conn

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.connect()
            self._local.conn = conn
            self._local.depth = 0
        return conn

    def _discard(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        self._local.depth = 0
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def close(self) -> None:
        self._discard()

    @property
    def in_transaction(self) -> bool:
        return getattr(self._local, "depth", 0) > 0

    # -- statements ----------------------------------------------------------
    def _run(self, sql: str, params: dict) -> tuple[list, object]:
        from pg8000.exceptions import DatabaseError, InterfaceError
        for attempt in (0, 1):
            conn = self._conn()
            try:
                rows = conn.run(sql, **params)
                return rows, conn
            except DatabaseError as exc:
                raise translate(exc) from exc
            except (InterfaceError, OSError) as exc:
                in_tx = self.in_transaction
                self._discard()
                # Outside a transaction a broken connection is retried once on a
                # fresh one (the container's connection may have gone stale).
                if in_tx or attempt == 1:
                    raise StorageUnavailable("lost the database connection", {"error_detail": str(exc)}) from exc
        raise AssertionError("unreachable")

    def query(self, sql: str, **params: Any) -> list[dict]:
        rows, conn = self._run(sql, params)
        if not conn.columns:
            return []
        names = [c["name"] for c in conn.columns]
        return [dict(zip(names, row)) for row in rows]

    def one(self, sql: str, **params: Any) -> dict | None:
        rows = self.query(sql, **params)
        return rows[0] if rows else None

    def scalar(self, sql: str, **params: Any) -> Any:
        rows, _ = self._run(sql, params)
        return rows[0][0] if rows else None

    def execute(self, sql: str, **params: Any) -> int:
        _, conn = self._run(sql, params)
        return conn.row_count

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
        self._run("START TRANSACTION", {})
        self._local.depth = 1
        try:
            yield self
        except BaseException:
            self._local.depth = 0
            conn = getattr(self._local, "conn", None)
            if conn is not None:
                try:
                    conn.run("ROLLBACK")
                except Exception:
                    self._discard()
            raise
        else:
            self._local.depth = 0
            self._run("COMMIT", {})


_db: Database | None = None
_db_lock = threading.Lock()


def get_db() -> Database:
    """The container's Database (created on first use, not at import)."""
    global _db
    if _db is None:
        with _db_lock:
            if _db is None:
                from chalicelib.settings import get_settings
                s = get_settings()
                _db = Database(s.database_url, s.db_statement_timeout_ms, s.db_connect_timeout_s)
    return _db


def set_db(db: Database | None) -> None:
    """Install a Database (tests, CLI); None drops the cached one."""
    global _db
    _db = db
