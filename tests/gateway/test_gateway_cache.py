"""The response cache against a loopback upstream that counts what reaches it:
opt-in per GET/HEAD endpoint, hits and misses in the answer, the call log and
the stats, one caller or credential never served another's answer, emptied
by any change of the endpoint or its document and by re-import, bounded in
entries and body size, expired by its TTL, and sealed at rest."""
from __future__ import annotations

import itertools
import json
import time
import uuid

import pytest

from tests.gateway.helpers import import_spec, set_document, spec_text

OK = {"responses": {"200": {"description": "ok"}}}
PATHS = {"/counted": {"get": {**OK, "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}]},
                      "post": OK}}


class Counter:
    """An upstream answering with how many requests reached it."""

    def __init__(self):
        self.seq = itertools.count(1)
        self.extra: dict = {}
        self.body = None

    def __call__(self, req):
        n = next(self.seq)
        headers = {"Set-Cookie": [f"s{n}=secret-cookie-{n}", "theme=dark"], **self.extra}
        return 200, headers, self.body if self.body is not None else {
            "n": n, "auth": req.headers.get("Authorization"), "query": req.query}


@pytest.fixture
def upstream(loopback):
    loopback.handler = Counter()
    return loopback


@pytest.fixture
def doc(db, upstream):
    return import_spec(db, spec_text(PATHS), base_url=upstream.url(""))


def eid(doc, method="GET"):
    return doc["endpoints"][(method, "/counted")]


def set_cache(api, endpoint_id, **fields):
    return api.patch(f"/api/endpoints/{endpoint_id}", fields)


def call(api, endpoint_id, **payload):
    r = api.post(f"/api/endpoints/{endpoint_id}/invoke", payload)
    assert r.status == 200, r.json
    return r.data


def new_key(api, role="operator") -> str:
    r = api.post("/api/keys", {"role": role, "name": f"cache {uuid.uuid4().hex[:6]}"})
    assert r.status == 201, r.json
    return r.data["key"]


@pytest.fixture
def cached(api, doc):
    r = set_cache(api, eid(doc), cache_ttl_seconds=60)
    assert r.status == 200, r.json
    assert r.data["cache_config"] == {"cache_ttl_seconds": 60, "cache_max_entries": 100,
                                      "cache_max_body_bytes": 262144}
    return eid(doc)


def test_an_endpoint_without_cache_settings_always_calls_the_upstream(api, doc, upstream):
    first, second = call(api, eid(doc)), call(api, eid(doc))
    assert (first["body"]["n"], second["body"]["n"]) == (1, 2)
    assert "cache" not in first and len(upstream.requests) == 2


def test_the_second_identical_call_is_a_hit_counted_in_the_log_and_the_stats(api, db, cached, upstream):
    miss, hit = call(api, cached, query={"q": "a"}), call(api, cached, query={"q": "a"})
    assert (miss["cache"], hit["cache"]) == ("miss", "hit")
    assert len(upstream.requests) == 1
    assert hit["body"] == miss["body"] and hit["headers"]["Set-Cookie"] == miss["headers"]["Set-Cookie"]
    assert hit["status_code"] == 200
    other = call(api, cached, query={"q": "b"})  # another URL is another entry
    assert other["cache"] == "miss" and other["body"]["n"] == 2
    statuses = {r["id"]: r["cache_status"] for r in db.query(
        "SELECT id::text, cache_status FROM api_call_logs WHERE api_endpoint_id = CAST(:e AS uuid)", e=cached)}
    assert statuses == {miss["log_id"]: "miss", hit["log_id"]: "hit", other["log_id"]: "miss"}
    stats = api.get(f"/api/endpoints/{cached}/stats?window=1h").data
    assert (stats["cache_hits"], stats["cache_misses"], stats["calls"]) == (1, 2, 3)
    listed = api.get(f"/api/call-logs?endpoint_id={cached}&cache_status=hit").data
    assert [i["id"] for i in listed["items"]] == [hit["log_id"]]


def test_two_api_keys_never_share_an_answer(api, cached, upstream):
    a, b = api.as_key(new_key(api)), api.as_key(new_key(api))
    first_a, first_b = call(a, cached), call(b, cached)
    assert (first_a["cache"], first_b["cache"]) == ("miss", "miss")
    assert first_a["body"]["n"] != first_b["body"]["n"]
    assert call(a, cached)["body"] == first_a["body"] and call(b, cached)["body"] == first_b["body"]
    assert len(upstream.requests) == 2


def test_two_forwarded_credentials_never_share_an_answer(api, doc, cached, upstream):
    set_document(api, doc["document_id"], auth_config={"type": "none", "forward_authorization": True})
    alice = call(api, cached, headers={"Authorization": "Bearer alice"})
    bob = call(api, cached, headers={"Authorization": "Bearer bob"})
    assert (alice["cache"], bob["cache"]) == ("miss", "miss")
    assert (alice["body"]["auth"], bob["body"]["auth"]) == ("Bearer alice", "Bearer bob")
    again = call(api, cached, headers={"Authorization": "Bearer alice"})
    assert again["cache"] == "hit" and again["body"]["auth"] == "Bearer alice"


def test_changing_the_documents_credential_is_never_served_the_old_ones_answer(api, doc, cached, upstream):
    set_document(api, doc["document_id"], auth_config={"type": "http", "scheme": "bearer", "token": "tok-one"})
    assert call(api, cached)["body"]["auth"] == "Bearer tok-one"
    set_document(api, doc["document_id"], auth_config={"type": "http", "scheme": "bearer", "token": "tok-two"})
    after = call(api, cached)
    assert after["cache"] == "miss" and after["body"]["auth"] == "Bearer tok-two"


@pytest.mark.parametrize("change", [
    lambda api, doc: set_cache(api, eid(doc), timeout_ms=5000),
    lambda api, doc: set_document(api, doc["document_id"], timeout_config={"read_ms": 4000}),
    lambda api, doc: set_document(api, doc["document_id"], rate_limit_config={"requests": 100}),
    lambda api, doc: api.post(f"/api/documents/{doc['document_id']}/reimport", {"content": spec_text(PATHS)}),
], ids=["endpoint-patch", "timeout-config", "rate-limit-config", "reimport"])
def test_any_change_of_the_endpoint_or_its_document_empties_its_cache(api, db, doc, cached, upstream, change):
    assert call(api, cached)["cache"] == "miss"
    assert call(api, cached)["cache"] == "hit"
    r = change(api, doc)
    assert getattr(r, "status", 200) == 200, getattr(r, "json", r)
    after = call(api, cached)
    assert after["cache"] == "miss" and after["body"]["n"] == 2
    rows = db.query("SELECT version FROM api_endpoint_cache WHERE endpoint_id = CAST(:e AS uuid)", e=cached)
    assert len(rows) == 1  # the old version's row was removed, not just skipped


def test_answers_expire_with_their_ttl_and_expired_rows_are_cleaned(api, db, doc, upstream):
    assert set_cache(api, eid(doc), cache_ttl_seconds=1).status == 200
    assert call(api, eid(doc), query={"q": "old"})["cache"] == "miss"
    time.sleep(1.2)
    again = call(api, eid(doc), query={"q": "old"})
    assert again["cache"] == "miss" and again["body"]["n"] == 2
    time.sleep(1.2)
    call(api, eid(doc), query={"q": "new"})  # any store sweeps expired rows
    left = db.query("SELECT expires_at > clock_timestamp() AS live FROM api_endpoint_cache"
                    " WHERE endpoint_id = CAST(:e AS uuid)", e=eid(doc))
    assert left == [{"live": True}]


def test_the_upstreams_max_age_and_no_store_are_respected(api, db, cached, upstream):
    upstream.handler.extra = {"Cache-Control": "no-store"}
    assert call(api, cached)["cache"] == "miss" and call(api, cached)["cache"] == "miss"
    upstream.handler.extra = {"Cache-Control": "public, max-age=0"}
    assert call(api, cached)["cache"] == "miss" and call(api, cached)["cache"] == "miss"
    assert len(upstream.requests) == 4


def test_the_cache_keeps_at_most_its_entries_dropping_the_oldest(api, db, doc, upstream):
    assert set_cache(api, eid(doc), cache_ttl_seconds=60, cache_max_entries=2).status == 200
    for q in ("1", "2", "3"):
        assert call(api, eid(doc), query={"q": q})["cache"] == "miss"
    count = db.scalar("SELECT count(*) FROM api_endpoint_cache WHERE endpoint_id = CAST(:e AS uuid)", e=eid(doc))
    assert count == 2
    assert call(api, eid(doc), query={"q": "3"})["cache"] == "hit"
    assert call(api, eid(doc), query={"q": "1"})["cache"] == "miss"  # evicted


def test_a_body_over_the_limit_is_not_cached(api, doc, upstream):
    assert set_cache(api, eid(doc), cache_ttl_seconds=60, cache_max_body_bytes=100).status == 200
    upstream.handler.body = "z" * 101
    assert call(api, eid(doc))["cache"] == "miss" and call(api, eid(doc))["cache"] == "miss"
    upstream.handler.body = "z" * 100
    assert call(api, eid(doc))["cache"] == "miss" and call(api, eid(doc))["cache"] == "hit"


def test_cached_answers_are_sealed_at_rest(api, db, cached, upstream):
    answer = call(api, cached)
    stored = db.scalar("SELECT cache_data::text FROM api_endpoint_cache WHERE endpoint_id = CAST(:e AS uuid)",
                       e=cached)
    assert "secret-cookie-1" not in stored and '"n"' not in stored and json.loads(stored).keys() == {"_enc"}
    assert call(api, cached)["headers"]["Set-Cookie"] == answer["headers"]["Set-Cookie"]


@pytest.mark.parametrize("fields,loc", [
    ({"cache_ttl_seconds": 86401}, ["body", "cache_ttl_seconds"]),
    ({"cache_ttl_seconds": -1}, ["body", "cache_ttl_seconds"]),
    ({"cache_ttl_seconds": 60, "cache_max_entries": 100000}, ["body", "cache_max_entries"]),
    ({"cache_ttl_seconds": 60, "cache_max_body_bytes": 2 ** 30}, ["body", "cache_max_body_bytes"]),
    ({"cache_max_entries": 5}, ["body", "cache_ttl_seconds"]),  # no TTL stored yet
])
def test_cache_settings_out_of_bounds_are_a_400_naming_the_field(api, doc, fields, loc):
    r = set_cache(api, eid(doc), **fields)
    assert r.status == 400, r.json
    details = r.error["details"]
    assert loc in [e["loc"] for e in (details["errors"] if isinstance(details, dict) else details)]
    assert api.get(f"/api/endpoints/{eid(doc)}?resolve=false").data["cache_config"] is None


def test_only_get_and_head_endpoints_can_be_cached_and_a_ttl_of_0_turns_it_off(api, doc, upstream):
    r = set_cache(api, eid(doc, "POST"), cache_ttl_seconds=60)
    assert r.status == 400 and "only GET and HEAD" in r.error["message"]
    assert set_cache(api, eid(doc), cache_ttl_seconds=60).status == 200
    off = set_cache(api, eid(doc), cache_ttl_seconds=0)
    assert off.status == 200 and off.data["cache_config"] is None
    assert "cache" not in call(api, eid(doc))


def test_a_viewer_cannot_change_cache_settings(api, keys, doc):
    r = set_cache(api.as_key(keys["viewer"]), eid(doc), cache_ttl_seconds=60)
    assert r.status == 403
    assert api.get(f"/api/endpoints/{eid(doc)}?resolve=false").data["cache_config"] is None


def test_an_operator_purges_an_endpoint_s_cache_and_is_told_how_many_entries_went(api, keys, db, doc, cached,
                                                                                   upstream):
    other = eid(doc, "POST")   # another endpoint of the document: its rows are not touched
    for q in ("a", "b", "c"):
        assert call(api, cached, query={"q": q})["cache"] == "miss"
    assert call(api, cached, query={"q": "a"})["cache"] == "hit"
    operator, viewer = api.as_key(keys["operator"]), api.as_key(keys["viewer"])
    denied = viewer.delete(f"/api/endpoints/{cached}/cache")
    assert denied.status == 403 and denied.error["code"] == "PERMISSION_DENIED"
    count = "SELECT COUNT(*) FROM api_endpoint_cache WHERE endpoint_id = CAST(:e AS uuid)"
    assert db.scalar(count, e=cached) == 3
    r = operator.delete(f"/api/endpoints/{cached}/cache")
    assert r.status == 200 and r.data == {"endpoint_id": cached, "removed": 3}
    assert db.scalar(count, e=cached) == 0
    again = call(api, cached, query={"q": "a"})
    assert again["cache"] == "miss" and again["body"]["n"] == 4 and len(upstream.requests) == 4
    assert operator.delete(f"/api/endpoints/{other}/cache").data["removed"] == 0
    assert operator.delete(f"/api/endpoints/{cached}/cache").data["removed"] == 1
    missing = operator.delete(f"/api/endpoints/{uuid.uuid4()}/cache")
    assert missing.status == 404 and missing.error["code"] == "NOT_FOUND"
    bad = operator.delete("/api/endpoints/not-a-uuid/cache")
    assert bad.status == 400 and bad.error["details"]["errors"][0]["loc"][-1] == "endpoint_id"
