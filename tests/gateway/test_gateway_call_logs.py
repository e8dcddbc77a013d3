"""Call log listing (filters, default window, partition pruning) and stats."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from chalicelib.gateway import calllogs
from tests.gateway.helpers import import_spec, spec_text

PATHS = {"/ok": {"get": {"responses": {"200": {"description": "ok"}}}},
         "/bad": {"get": {"responses": {"200": {"description": "ok"}}}}}


@pytest.fixture
def doc(db, loopback):
    loopback.handler = lambda req: (200, {}, {"ok": True}) if req.path == "/ok" else (503, {}, {"ok": False})
    return import_spec(db, spec_text(PATHS), base_url=loopback.url(""))


def call(api, doc, path):
    return api.post(f"/api/endpoints/{doc['endpoints'][('GET', path)]}/invoke", {})


def relations(plan) -> set[str]:
    found = set()

    def walk(node):
        if isinstance(node, dict):
            if "Relation Name" in node:
                found.add(node["Relation Name"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(plan)
    return found


def test_a_one_day_query_scans_only_that_months_partition(db):
    now = dt.datetime.now(dt.timezone.utc)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    since = month_start + dt.timedelta(days=min(now.day - 1, 20))
    sql, params = calllogs.list_sql({"since": since, "until": since + dt.timedelta(days=1), "limit": 50, "offset": 0})
    plan = db.scalar("EXPLAIN (FORMAT JSON) " + sql, **params)
    plan = json.loads(plan) if isinstance(plan, str) else plan
    assert relations(plan) == {f"api_call_logs_{since:%Y_%m}"}


def test_logs_are_filtered_by_endpoint_document_status_and_error_type(api, db, doc):
    call(api, doc, "/ok")
    call(api, doc, "/ok")
    call(api, doc, "/bad")
    ok_id = doc["endpoints"][("GET", "/ok")]
    r = api.get(f"/api/call-logs?document_id={doc['document_id']}")
    assert r.data["total"] == 3 and not r.data["has_more"]
    assert api.get(f"/api/call-logs?endpoint_id={ok_id}").data["total"] == 2
    assert api.get(f"/api/call-logs?document_id={doc['document_id']}&status_code=503").data["total"] == 1
    assert api.get(f"/api/call-logs?document_id={doc['document_id']}&status_class=2xx").data["total"] == 2
    assert api.get(f"/api/call-logs?document_id={doc['document_id']}&error_type=upstream_status").data["total"] == 1
    page = api.get(f"/api/call-logs?document_id={doc['document_id']}&limit=2")
    assert len(page.data["items"]) == 2 and page.data["has_more"]
    one = api.get(f"/api/call-logs/{page.data['items'][0]['id']}")
    assert one.status == 200 and one.data["id"] == page.data["items"][0]["id"]


def test_default_window_is_the_last_24_hours(api, db, doc):
    call(api, doc, "/ok")
    ok_id = doc["endpoints"][("GET", "/ok")]
    db.execute("UPDATE api_call_logs SET created_at = created_at - interval '2 days' "
               "WHERE api_endpoint_id = CAST(:id AS uuid)", id=ok_id)
    call(api, doc, "/ok")
    assert api.get(f"/api/call-logs?endpoint_id={ok_id}").data["total"] == 1
    since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert api.get(f"/api/call-logs?endpoint_id={ok_id}&since={since}").data["total"] == 2


def test_bad_time_range_is_a_400(api):
    r = api.get("/api/call-logs?since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z")
    assert r.status == 400


def test_endpoint_stats_over_a_window(api, db, doc):
    bad = doc["endpoints"][("GET", "/bad")]
    for _ in range(4):
        call(api, doc, "/bad")
    r = api.get(f"/api/endpoints/{bad}/stats?window=15m")
    assert r.status == 200
    assert r.data["calls"] == 4 and r.data["errors"] == 4 and r.data["success_rate"] == 0.0
    assert r.data["by_status"] == [{"status_code": 503, "error_type": "upstream_status", "calls": 4}]
    assert api.get(f"/api/endpoints/{bad}/stats?window=forever").status == 400
    assert api.get("/api/endpoints/00000000-0000-0000-0000-000000000000/stats").status == 404


def test_viewer_reads_logs_but_cannot_invoke(api, keys, doc):
    viewer = api.as_key(keys["viewer"])
    assert viewer.get("/api/call-logs").status == 200
    assert viewer.post(f"/api/endpoints/{doc['endpoints'][('GET', '/ok')]}/invoke", {}).status == 403
