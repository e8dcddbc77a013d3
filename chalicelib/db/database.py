"""One PostgreSQL connection per container (per thread), plain SQL.

`Database.query/one/execute` take SQL with `:name` parameters (pg8000.native
binds them; values are never spliced). `transaction()` opens one transaction
on the thread's connection; calls made inside it (on the same Database) join
it. A broken connection is discarded and re-opened on the next call.
"""
from __future__ import annotations

import functools
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator
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


@functools.lru_cache(maxsize=2048)
def _statement(sql: str):
    from pg8000.native import to_statement
    return to_statement(sql)


class Database:
    def __init__(self, url: str, statement_timeout_ms: int = 25_000, connect_timeout_s: float = 5.0,
                 application_name: str = "stepflow", credentials: "Callable[[bool], dict] | None" = None):
        """`credentials(refresh)` (optional) returns {"username", "password"}
        to use instead of the URL's; it is called again with refresh=True
        after an authentication failure (rotated RDS password)."""
        self.url = url
        self.params = parse_database_url(url)
        self.credentials = credentials
        self.statement_timeout_ms = statement_timeout_ms
        self.connect_timeout_s = connect_timeout_s
        self.application_name = application_name
        self._local = threading.local()

    # -- connection lifecycle -------------------------------------------------
    def connect(self, timeout: float | None = None):
        # pg8000 (with scramp/asn1crypto) costs ~40 ms to import: on first use only.
        import pg8000.native
        from pg8000.exceptions import DatabaseError, InterfaceError
        params = dict(self.params)
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
                raise StorageUnavailable("the database refused the connection",
                                         {"error_detail": info.get("M", str(exc))}) from exc
            except (InterfaceError, OSError) as exc:
                raise StorageUnavailable("cannot connect to the database", {"error_detail": str(exc)}) from exc
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
    def _run(self, sql: str, params: dict) -> tuple[list, Any]:
        """Returns (rows, context); context has .columns and .row_count."""
        from pg8000.exceptions import DatabaseError, InterfaceError
        for attempt in (0, 1):
            conn = self._conn()
            try:
                if params:
                    # pg8000.native re-parses `:name` SQL on every run; the
                    # parse is cached per SQL text (~0.5 ms a call saved).
                    statement, make_vals = _statement(sql)
                    ctx = conn.execute_unnamed(statement, make_vals(params), oids=())
                else:
                    ctx = conn.execute_simple(sql)
                return ctx.rows or [], ctx
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
        rows, ctx = self._run(sql, params)
        if not ctx.columns:
            return []
        names = [c["name"] for c in ctx.columns]
        return [dict(zip(names, row)) for row in rows]

    def one(self, sql: str, **params: Any) -> dict | None:
        rows = self.query(sql, **params)
        return rows[0] if rows else None

    def scalar(self, sql: str, **params: Any) -> Any:
        rows, _ = self._run(sql, params)
        return rows[0][0] if rows else None

    def execute(self, sql: str, **params: Any) -> int:
        _, ctx = self._run(sql, params)
        return ctx.row_count

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
                creds = _secret_credentials(s.database_secret_arn) if s.database_secret_arn else None
                _db = Database(s.database_url, s.db_statement_timeout_ms, s.db_connect_timeout_s,
                               credentials=creds)
    return _db


def _secret_credentials(arn: str) -> Callable[[bool], dict]:
    """In AWS the password lives in an RDS-managed Secrets Manager secret."""
    cache: dict = {}

    def credentials(refresh: bool) -> dict:
        if refresh or not cache:
            import json

            from chalicelib.aws import client
            value = json.loads(client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
            cache.update(username=value["username"], password=value["password"])
        return dict(cache)

    return credentials


def set_db(db: Database | None) -> None:
    """Install a Database (tests, CLI); None drops the cached one."""
    global _db
    _db = db
