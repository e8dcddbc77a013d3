"""POST /api/sharding-query end to end: pro sharded into docs_0..docs_13, test in one docs table."""
from __future__ import annotations

from tests.cassandra.conftest import INTERVAL, SHARDS, doc_key

KEYS = [doc_key(1609459200), doc_key(1609545600), doc_key(1610064000), "order-1609459200123", doc_key(1700000000)]


def _shard(seconds: int) -> str:
    return f"docs_{(seconds // INTERVAL) % SHARDS}"


def _sharded(api, configs, values, pro=True, test=False, **body):
    pro_cfg, test_cfg = configs("docs")
    payload = {"pro_config": pro_cfg, "test_config": test_cfg, "keys": ["doc_id"], "values": values,
               "sharding_config": {"use_sharding_for_pro": pro, "use_sharding_for_test": test,
                                   "interval_seconds": INTERVAL, "table_count": SHARDS}}
    payload.update(body)
    return api.post("/api/sharding-query", payload)


def test_keys_are_routed_to_their_shard_tables(api, configs):
    r = _sharded(api, configs, KEYS)

    assert r.status == 200, r.json
    info = r.data["sharding_info"]
    assert info["pro_shard_mapping"] == {
        doc_key(1609459200): _shard(1609459200), doc_key(1609545600): _shard(1609545600),
        doc_key(1610064000): _shard(1610064000), "order-1609459200123": _shard(1609459200),
        doc_key(1700000000): _shard(1700000000)}
    assert set(info["test_shard_mapping"].values()) == {"docs"}
    assert info["failed_keys"] == []
    stats = info["shard_stats"]
    assert stats["test_tables_used"] == ["docs"]
    assert set(stats["pro_tables_used"]) == {_shard(s) for s in (1609459200, 1609545600, 1610064000, 1700000000)}
    assert stats["timestamp_extraction_success_rate"] == 100.0


def test_sharded_comparison_finds_the_changed_document(api, configs):
    r = _sharded(api, configs, KEYS)

    data = r.data
    assert (data["pro_count"], data["test_count"]) == (5, 5)
    assert [(d["key"]["doc_id"], d["field"]) for d in data["differences"]] == [(doc_key(1610064000), "content")]
    assert data["identical_count"] == 4


def test_keys_without_timestamp_are_reported_not_fatal(api, configs):
    r = _sharded(api, configs, KEYS[:2] + ["wmid_abc", "no-digits"])

    assert r.status == 200, r.json
    info = r.data["sharding_info"]
    assert info["failed_keys"] == ["wmid_abc", "no-digits"]
    assert info["shard_stats"]["timestamp_extraction_success_rate"] == 50.0
    assert r.data["total_keys"] == 4 and r.data["identical_count"] == 2
    assert {s["key"]["doc_id"] for s in r.data["skipped_keys"]} == {"wmid_abc", "no-digits"}


def test_unsharded_side_reading_shard_tables_is_missing_data(api, configs):
    # both sides sharded: test has no docs_N tables -> a query error naming the table
    r = _sharded(api, configs, KEYS[:1], pro=True, test=True)

    assert r.status == 500
    assert r.error["code"] == "QUERY_ERROR"
    assert f"table {_shard(1609459200)} does not exist" in r.error["details"]["error_detail"]


def test_sharding_history_records_query_type(api, configs, db):
    r = _sharded(api, configs, KEYS[:2])

    row = db.one("SELECT query_type, sharding_config FROM query_history WHERE id = :id", id=r.data["history_id"])
    assert row["query_type"] == "sharding"
    assert row["sharding_config"]["table_count"] == SHARDS
    logs = db.query("SELECT query_type FROM query_logs WHERE batch_id = :b", b=r.data["batch_id"])
    assert {l["query_type"] for l in logs} == {"cassandra_sharding"}
