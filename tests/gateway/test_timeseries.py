"""Server-side call statistics per time bucket (GET /api/stats/timeseries):
exact counts and percentiles computed by PostgreSQL, scoped to a document or
an endpoint, pruned to the partitions of the window, refused inputs named."""
from __future__ import annotations

import datetime as dt
import json
import math
import random
import uuid

import pytest

from chalicelib.gateway import timeseries as ts
from tests.gateway.helpers import import_spec, spec_text
from tests.gateway.test_gateway_call_logs import relations

PATHS = {"/a": {"get": {"responses": {"200": {"description": "ok"}}}},
         "/b": {"post": {"responses": {"200": {"description": "ok"}}}}}
UNTIL = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)  # a fixed window: the rows are placed in it


@pytest.fixture
def doc(db):
    return import_spec(db, spec_text(PATHS), base_url="http://127.0.0.1:9")


def add_calls(db, endpoint_id: str, calls: list[tuple[dt.datetime, int | None, str | None, int | None]]) -> None:
    """Backdated call-log rows (created_at, status, error_type, ms): no API sets a call's time."""
    db.execute(
        "INSERT INTO api_call_logs (api_endpoint_id, request_method, request_url, response_status_code, error_type, "
        " response_time_ms, created_at) "
        "SELECT CAST(:e AS uuid), 'GET', 'http://upstream/x', (c->>'s')::int, c->>'t', (c->>'ms')::int, "
        "       (c->>'at')::timestamptz FROM jsonb_array_elements(CAST(:calls AS jsonb)) c",
        e=endpoint_id, calls=json.dumps([{"at": at.isoformat(), "s": s, "t": t, "ms": ms} for at, s, t, ms in calls]))


def percentile_cont(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    pos = q * (len(v) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return round(v[lo] + (v[hi] - v[lo]) * (pos - lo), 2)


def expected(calls):
    timed = [ms for _, s, _, ms in calls if s is not None]
    errors = sum(1 for _, s, t, _ in calls if (s is not None and s >= 400) or (s is None and t))
    return {"calls": len(calls), "errors": errors, "successes": sum(1 for _, s, _, _ in calls if s and 200 <= s < 300),
            "p50_ms": percentile_cont(timed, .5), "p95_ms": percentile_cont(timed, .95),
            "p99_ms": percentile_cont(timed, .99)}


def random_calls(rng: random.Random, n: int, since: dt.datetime, span_s: int):
    out = []
    for _ in range(n):
        at = since + dt.timedelta(seconds=rng.uniform(0, span_s - 0.001))
        kind = rng.random()
        if kind < 0.08:
            out.append((at, None, "timeout", None))
        elif kind < 0.25:
            out.append((at, rng.choice([404, 500, 503]), "upstream_status", rng.randint(1, 900)))
        else:
            out.append((at, rng.choice([200, 201, 302]), None, rng.randint(1, 900)))
    return out


def test_buckets_and_totals_are_exact_counts_and_percentiles_of_the_window(db, doc):
    rng = random.Random(20)
    a = doc["endpoints"][("GET", "/a")]
    since = UNTIL - dt.timedelta(hours=6)
    calls = random_calls(rng, 2500, since, 6 * 3600)
    outside = [(since - dt.timedelta(seconds=1), 200, None, 5), (UNTIL, 200, None, 5)]  # [since, until) only
    add_calls(db, a, calls + outside)

    out = ts.timeseries(ts.Scope(endpoint_id=a), 6 * 3600, 3600, UNTIL, db=db)

    assert len(out["buckets"]) == 6
    assert {k: out["totals"][k] for k in expected(calls)} == expected(calls)
    for i, bucket in enumerate(out["buckets"]):
        lo, hi = since + dt.timedelta(hours=i), since + dt.timedelta(hours=i + 1)
        assert bucket["start"] == lo
        mine = [c for c in calls if lo <= c[0] < hi]
        assert {k: bucket[k] for k in expected(mine)} == expected(mine)
    assert sum(b["calls"] for b in out["buckets"]) == out["totals"]["calls"] == 2500


def test_a_document_scope_counts_all_its_endpoints_and_no_other_document(db, doc):
    other = import_spec(db, spec_text(PATHS), base_url="http://127.0.0.1:9")
    at = UNTIL - dt.timedelta(minutes=30)
    add_calls(db, doc["endpoints"][("GET", "/a")], [(at, 200, None, 10)] * 3)
    add_calls(db, doc["endpoints"][("POST", "/b")], [(at, 500, "upstream_status", 30)] * 2)
    add_calls(db, other["endpoints"][("GET", "/a")], [(at, 200, None, 10)] * 7)

    whole = ts.timeseries(ts.Scope(document_id=doc["document_id"]), 3600, 600, UNTIL, db=db)
    one = ts.timeseries(ts.Scope(endpoint_id=doc["endpoints"][("POST", "/b")], document_id=doc["document_id"]),
                        3600, 600, UNTIL, db=db)

    assert (whole["totals"]["calls"], whole["totals"]["errors"], whole["totals"]["error_rate"]) == (5, 2, 0.4)
    assert (one["totals"]["calls"], one["totals"]["errors"], one["totals"]["p50_ms"]) == (2, 2, 30.0)


def test_empty_buckets_have_zero_calls_and_no_latency(db, doc):
    add_calls(db, doc["endpoints"][("GET", "/a")], [(UNTIL - dt.timedelta(minutes=1), 200, None, 12)])
    out = ts.timeseries(ts.Scope(endpoint_id=doc["endpoints"][("GET", "/a")]), 3600, 900, UNTIL, db=db)
    assert [b["calls"] for b in out["buckets"]] == [0, 0, 0, 1]
    assert out["buckets"][0]["p95_ms"] is None and out["buckets"][3]["p95_ms"] == 12.0


@pytest.mark.parametrize("scope", ["endpoint", "document", "everything"])
def test_a_one_day_window_scans_only_that_months_partition(db, doc, scope):
    now = dt.datetime.now(dt.timezone.utc)
    until = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=min(now.day - 1, 20) + 1)
    s = {"endpoint": ts.Scope(endpoint_id=doc["endpoints"][("GET", "/a")]),
         "document": ts.Scope(document_id=doc["document_id"]), "everything": ts.Scope()}[scope]
    params = {"since": until - dt.timedelta(days=1), "until": until, "bucket_s": 3600,
              "endpoint_id": s.endpoint_id, "document_id": s.document_id}
    sql = ts.timeseries_sql(s)
    plan = db.scalar("EXPLAIN (FORMAT JSON) " + sql, **{k: v for k, v in params.items() if f":{k}" in sql})
    plan = json.loads(plan) if isinstance(plan, str) else plan
    assert {r for r in relations(plan) if r.startswith("api_call_logs")} == {f"api_call_logs_{until - dt.timedelta(days=1):%Y_%m}"}


@pytest.mark.parametrize("window", [60, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400, 366 * 86400])
def test_the_default_bucket_gives_between_one_and_sixty_points(window):
    assert 1 <= math.ceil(window / ts.auto_bucket(window)) <= 60


QUERIES = [
    ("window=1h&bucket=1s", "bucket"),          # 3600 buckets
    ("window=1h&bucket=2h", "bucket"),          # larger than the window
    ("window=1h&bucket=soon", "bucket"),
    ("window=forever", "window"),
    ("endpoint_id=nope", "endpoint_id"),
    ("document_id=12", "document_id"),
]


@pytest.mark.parametrize("query, field", QUERIES)
def test_bad_inputs_are_a_400_naming_the_field(api, query, field):
    r = api.get(f"/api/stats/timeseries?{query}")
    assert r.status == 400
    assert field in json.dumps(r.error)


def test_an_endpoint_of_another_document_is_refused_and_unknown_ids_are_404(api, db, doc):
    other = import_spec(db, spec_text(PATHS), base_url="http://127.0.0.1:9")
    r = api.get(f"/api/stats/timeseries?document_id={doc['document_id']}&endpoint_id={other['endpoints'][('GET', '/a')]}")
    assert r.status == 400 and "endpoint_id" in json.dumps(r.error)
    assert api.get(f"/api/stats/timeseries?endpoint_id={uuid.uuid4()}").status == 404
    assert api.get(f"/api/stats/timeseries?document_id={uuid.uuid4()}").status == 404


# ------------------------------------------------------------------ through the real server


@pytest.fixture
def live_doc(live_server, loopback):
    loopback.handler = lambda req: (200, {}, {"ok": True}) if req.path == "/a" else (503, {}, {"ok": False})
    r = live_server.call("POST", "/api/documents", {"content": spec_text(PATHS), "base_url": loopback.url(""),
                                                    "name": f"ts-{uuid.uuid4().hex[:8]}"})
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    return {"document_id": data["document"]["id"] if "document" in data else data["id"],
            "endpoints": {(e["method"], e["path"]): e["id"] for e in data["endpoints"]}}


def test_a_viewer_reads_the_series_of_calls_made_through_the_server_and_can_do_nothing_more(live_server, live_doc):
    op = live_server.key("operator")
    a, b = live_doc["endpoints"][("GET", "/a")], live_doc["endpoints"][("POST", "/b")]
    for eid in (a, a, a, b):
        assert live_server.call("POST", f"/api/endpoints/{eid}/invoke", {}, key=op).status_code == 200
    viewer = live_server.key("viewer")
    r = live_server.call("GET", "/api/stats/timeseries", key=viewer,
                         params={"document_id": live_doc["document_id"], "window": "1h", "bucket": "5m"})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert (data["totals"]["calls"], data["totals"]["errors"], len(data["buckets"])) == (4, 1, 12)
    stats = live_server.call("GET", f"/api/endpoints/{a}/stats", key=viewer, params={"window": "1h"}).json()["data"]
    one = live_server.call("GET", "/api/stats/timeseries", key=viewer, params={"endpoint_id": a, "window": "1h"}).json()["data"]
    assert (one["totals"]["calls"], one["totals"]["p50_ms"], one["totals"]["p99_ms"]) == \
        (stats["calls"], stats["p50_ms"], stats["p99_ms"])
    # the weakest role reads; it cannot call, and no key reads nothing
    assert live_server.call("POST", f"/api/endpoints/{a}/invoke", {}, key=viewer).status_code == 403
    assert live_server.call("GET", "/api/stats/timeseries", key=None).status_code == 401
