"""Shared fixtures: a fresh PostgreSQL database for the run (dropped at the
end), settings pointing at it, the app through chalice.test, and API keys.

Services: TEST_PG_ADMIN_URL (default: the server on 127.0.0.1:5432) and
TEST_REDIS_URL (default redis://127.0.0.1:6379/0); `make test` makes sure
they are up (scripts/services.py).
"""
from __future__ import annotations

import json
from contextlib import contextmanager
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chalicelib import secrets as secret_store  # noqa: E402
from chalicelib.db import Database, quote_ident, set_db  # noqa: E402
from chalicelib.db.migrate import migrate  # noqa: E402
from chalicelib.settings import Settings, reset_settings  # noqa: E402
from tests import error_shape  # noqa: E402

ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TEST_DB_NAME = f"stepflow_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
SECRET_KEY = secret_store.generate_key()


def _db_url(name: str) -> str:
    base, _, query = ADMIN_URL.partition("?")
    base = base.rsplit("/", 1)[0] + "/" + name
    return base + ("?" + query if query else "")


TEST_DATABASE_URL = _db_url(TEST_DB_NAME)


def base_settings(**overrides: Any) -> Settings:
    # Role-default key quotas are off for the suite; tests of quotas set them explicitly.
    values = dict(database_url=TEST_DATABASE_URL, secret_keys=(SECRET_KEY,), stage="test",
                  key_default_rate_per_minute=0, key_default_max_concurrent=0)
    values.update(overrides)
    return Settings(**values)


def _admin() -> Database:
    return Database(ADMIN_URL, statement_timeout_ms=60_000)


def pytest_configure(config):
    error_shape.install()   # every error answer the suite receives is checked (tests/error_shape.py)


def pytest_terminal_summary(terminalreporter):
    t = error_shape.TALLY
    terminalreporter.write_line(
        f"error shape: {sum(t.checked.values())} error answers checked "
        f"({t.checked['in-process']} in-process, {t.checked['http']} over HTTP), {len(t.violations)} broke it")


@pytest.fixture(autouse=True)
def _error_shape_guard():
    """An error answer of the wrong shape fails its test, even when received on another thread."""
    before = len(error_shape.VIOLATIONS)
    yield
    broken = error_shape.VIOLATIONS[before:]
    if broken:
        pytest.fail("error answers broke the one shape:\n" + "\n".join(broken[:10]), pytrace=False)


def pytest_sessionstart(session):
    admin = _admin()
    admin.execute(f"CREATE DATABASE {quote_ident(TEST_DB_NAME)}")
    admin.close()
    os.environ["DATABASE_URL"] = TEST_DATABASE_URL
    os.environ["SECRET_KEYS"] = SECRET_KEY
    reset_settings(base_settings())
    db = Database(TEST_DATABASE_URL)
    migrate(db)
    set_db(db)


def pytest_sessionfinish(session, exitstatus):
    set_db(None)
    # Cassandra sessions the product cached for comparisons (fullrun and compare tests leave
    # some): shut down before the interpreter's, so their scheduler threads do not outlive it.
    cassandra_sessions = sys.modules.get("chalicelib.compare.cassandra.sessions")
    if cassandra_sessions is not None:
        cassandra_sessions.close_all()
    admin = _admin()
    try:
        admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(TEST_DB_NAME)} WITH (FORCE)")
    finally:
        admin.close()


@pytest.fixture(autouse=True)
def _fresh_settings():
    """Each test starts from the default test settings and secret box."""
    reset_settings(base_settings())
    secret_store.set_box(None)
    yield
    reset_settings(base_settings())
    secret_store.set_box(None)


@pytest.fixture(scope="session")
def db() -> Database:
    from chalicelib.db import get_db
    return get_db()


@dataclass
class Resp:
    status: int
    headers: dict
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def data(self) -> Any:
        return self.json["data"]

    @property
    def error(self) -> dict:
        return self.json["error"]


class Api:
    """Calls the app through chalice.test with an API key and JSON."""

    def __init__(self, http, key: str | None = None):
        self.http = http
        self.key = key

    def as_key(self, key: str | None) -> "Api":
        return Api(self.http, key)

    def request(self, method: str, path: str, json_body: Any = None, *, body: bytes | str | None = None,
                headers: dict | None = None) -> Resp:
        hdrs = {}
        if self.key:
            hdrs["Authorization"] = f"Bearer {self.key}"
        if json_body is not None:
            hdrs["Content-Type"] = "application/json"
            body = json.dumps(json_body)
        hdrs.update(headers or {})
        if isinstance(body, str):
            body = body.encode("utf-8")
        r = self.http.request(method, path, headers=hdrs, body=body or b"")
        return Resp(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.body)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json_body=None, **kw):
        return self.request("POST", path, json_body, **kw)

    def put(self, path, json_body=None, **kw):
        return self.request("PUT", path, json_body, **kw)

    def patch(self, path, json_body=None, **kw):
        return self.request("PATCH", path, json_body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


@pytest.fixture(scope="session")
def chalice_app():
    import app as app_module
    return app_module.app


@pytest.fixture(scope="session")
def client(chalice_app):
    from chalicelib.web.local import ApiTestClient
    return ApiTestClient(chalice_app, project_dir=str(ROOT))


@pytest.fixture(scope="session")
def keys(db) -> dict[str, str]:
    from chalicelib.keys.service import create_key
    return {role: create_key(role, name=f"test {role}", db=db)["key"] for role in ("admin", "operator", "viewer")}


@pytest.fixture
def api(client, keys) -> Api:
    """Admin-keyed caller; `api.as_key(keys['viewer'])` for others."""
    return Api(client.http, keys["admin"])


@pytest.fixture
def anon(client) -> Api:
    return Api(client.http, None)


@contextmanager
def own_live_server(suffix: str, extra_env: dict | None = None):
    """A real server of `make run` (tests/live.py) on a new database of its own,
    `<test database>_<suffix>`, dropped after it stops. `extra_env`: its settings."""
    from tests.live import start_live_server, stop_live_server
    name = f"{TEST_DB_NAME}_{suffix}"
    admin = _admin()
    admin.execute(f"CREATE DATABASE {quote_ident(name)}")
    admin.close()
    try:
        server = start_live_server(_db_url(name), SECRET_KEY, extra_env)
        try:
            yield server
        finally:
            stop_live_server(server.process)
    finally:
        admin = _admin()
        try:
            admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
        finally:
            admin.close()


@pytest.fixture(scope="session")
def live_server():
    """The real server of `make run` over HTTP (tests/live.py), own port and database."""
    with own_live_server("live") as server:
        yield server
