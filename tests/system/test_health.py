"""GET /api/health: public, seed 003 shape, seed 001 parts, bounded time."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from chalicelib.settings import reset_settings
from tests.conftest import REDIS_URL, base_settings


@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join()
    for c in held:
        c.close()
    srv.close()


def test_health_is_public_and_reports_postgres_up(anon):
    r = anon.get("/api/health")
    assert r.status == 200, r.body
    d = r.data
    assert d["status"] == "healthy" and d["postgres"] == "up"
    assert d["database"]["postgresql"]["latency_ms"] >= 0
    assert d["redis"] == "not_configured"
    assert {"version", "uptime", "memory_usage", "last_check"} <= set(d)


def test_health_reports_redis_up_when_configured(anon):
    reset_settings(base_settings(redis_url=REDIS_URL))
    r = anon.get("/api/health")
    assert r.status == 200 and r.data["redis"] == "up"


def test_hanging_redis_makes_503_within_a_second(anon, silent_port):
    reset_settings(base_settings(redis_url=f"redis://127.0.0.1:{silent_port}/0"))
    started = time.monotonic()
    r = anon.get("/api/health")
    elapsed = time.monotonic() - started
    assert r.status == 503
    assert r.json["data"]["redis"] == "down" and r.json["data"]["postgres"] == "up"
    assert elapsed < 1.5  # the contract: answers within about a second, never hangs


def test_hanging_postgres_makes_503_within_a_second(anon, silent_port):
    reset_settings(base_settings(database_url=f"postgresql://postgres@127.0.0.1:{silent_port}/x"))
    started = time.monotonic()
    r = anon.get("/api/health")
    assert time.monotonic() - started < 1.5
    assert r.status == 503 and r.json["data"]["postgres"] == "down"
    assert r.json["success"] is False and r.json["error"]["code"] == "SERVICE_UNAVAILABLE"


def test_init_db_lists_tables_and_is_idempotent(api):
    r = api.post("/api/init-db")
    assert r.status == 200
    assert r.data["tables_created"] == [] and r.data["migrations_applied"] == []
