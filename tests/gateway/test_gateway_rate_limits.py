"""Rate limits hold under concurrent callers, in Redis and in PostgreSQL."""
from __future__ import annotations

import threading
import time

import pytest

from chalicelib.gateway import ratelimit
from chalicelib.gateway.invoke import invoke_endpoint
from chalicelib.gateway.request_builder import InvokeInput
from chalicelib.settings import reset_settings
from chalicelib.errors import RateLimited
from tests.conftest import REDIS_URL, base_settings
from tests.gateway.helpers import import_spec, spec_text

PATHS = {"/ping": {"get": {"responses": {"200": {"description": "ok"}}}}}
LIMIT = 5
PER = 3600
CALLERS = 20


def make_doc(db, loopback, scope="endpoint", enabled=True):
    d = import_spec(db, spec_text(PATHS), base_url=loopback.url(""),
                    rate_limit_config={"requests": LIMIT, "per_seconds": PER, "scope": scope})
    endpoint_id = d["endpoints"][("GET", "/ping")]
    db.execute("UPDATE api_endpoints SET rate_limit_enabled = :on WHERE id = CAST(:id AS uuid)",
               on=enabled, id=endpoint_id)
    return endpoint_id


def hammer(endpoint_id: str, settings) -> tuple[int, list[RateLimited], float, float]:
    barrier = threading.Barrier(CALLERS)
    admitted, refused, other = [], [], []

    def caller():
        reset_settings(settings)
        barrier.wait()
        try:
            invoke_endpoint(endpoint_id, InvokeInput())
            admitted.append(1)
        except RateLimited as exc:
            refused.append(exc)
        except Exception as exc:  # pragma: no cover - reported below
            other.append(exc)

    t0 = time.time()
    threads = [threading.Thread(target=caller) for _ in range(CALLERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not other, other
    return len(admitted), refused, t0, time.time()


def windows_touched(t0: float, t1: float) -> int:
    return int(t1 // PER) - int(t0 // PER) + 1


@pytest.mark.parametrize("store", ["postgresql", "redis"])
def test_no_more_than_the_limit_is_admitted_under_20_concurrent_callers(db, loopback, store):
    settings = base_settings(outbound_allowlist=("127.0.0.1",),
                             redis_url=REDIS_URL if store == "redis" else None)
    reset_settings(settings)
    assert ratelimit.counter_for_settings().name == store
    endpoint_id = make_doc(db, loopback)
    admitted, refused, t0, t1 = hammer(endpoint_id, settings)
    assert admitted <= LIMIT * windows_touched(t0, t1)
    assert admitted >= LIMIT
    assert admitted + len(refused) == CALLERS
    assert len(loopback.requests) == admitted
    assert all(1 <= e.retry_after <= PER and e.headers["Retry-After"] == str(e.retry_after) for e in refused)


def test_over_the_limit_answers_429_with_retry_after(api, db, loopback):
    endpoint_id = make_doc(db, loopback)
    statuses = [api.post(f"/api/endpoints/{endpoint_id}/invoke", {}).status for _ in range(LIMIT + 1)]
    assert statuses == [200] * LIMIT + [429]
    r = api.post(f"/api/endpoints/{endpoint_id}/invoke", {})
    assert r.error["code"] == "RATE_LIMITED"
    assert int(r.headers["retry-after"]) in range(1, PER + 1)


def test_limit_applies_only_to_endpoints_with_rate_limit_enabled(api, db, loopback):
    endpoint_id = make_doc(db, loopback, enabled=False)
    statuses = {api.post(f"/api/endpoints/{endpoint_id}/invoke", {}).status for _ in range(LIMIT + 2)}
    assert statuses == {200}


def test_document_scope_shares_one_bucket(db, loopback):
    d = import_spec(db, spec_text({"/a": PATHS["/ping"], "/b": PATHS["/ping"]}), base_url=loopback.url(""),
                    rate_limit_config={"requests": 3, "per_seconds": PER, "scope": "document"})
    db.execute("UPDATE api_endpoints SET rate_limit_enabled = true WHERE api_document_id = CAST(:d AS uuid)",
               d=d["document_id"])
    a, b = d["endpoints"][("GET", "/a")], d["endpoints"][("GET", "/b")]
    invoke_endpoint(a, InvokeInput())
    invoke_endpoint(b, InvokeInput())
    invoke_endpoint(a, InvokeInput())
    with pytest.raises(RateLimited):
        invoke_endpoint(b, InvokeInput())


def test_unreachable_redis_falls_back_to_postgresql(db, loopback):
    reset_settings(base_settings(outbound_allowlist=("127.0.0.1",), redis_url="redis://127.0.0.1:1/0"))
    endpoint_id = make_doc(db, loopback)
    for _ in range(LIMIT):
        invoke_endpoint(endpoint_id, InvokeInput())
    with pytest.raises(RateLimited):
        invoke_endpoint(endpoint_id, InvokeInput())


@pytest.mark.parametrize("cfg,loc", [
    ({"requests": 0, "per_seconds": 1}, ["rate_limit_config", "requests"]),
    ({"requests": "x"}, ["rate_limit_config", "requests"]),
    ({"requests": 1, "scope": "x"}, ["rate_limit_config", "scope"]),
    ({"requests": 1, "per_seconds": float("nan")}, ["rate_limit_config", "per_seconds"]),
    ({"requests": 1, "burst": 5}, ["rate_limit_config", "burst"]),
    (["x"], ["rate_limit_config"]),
])
def test_a_stored_malformed_rate_limit_config_is_a_conflict_naming_the_field(cfg, loc):
    from chalicelib.errors import Conflict

    with pytest.raises(Conflict) as caught:
        ratelimit.parse_limit(cfg, "doc-1")
    assert caught.value.details["config"] == "rate_limit_config"
    assert caught.value.details["errors"][0]["loc"] == loc
