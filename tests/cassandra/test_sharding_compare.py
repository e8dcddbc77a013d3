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


def test_a_missing_shard_table_fails_its_keys_and_the_run_goes_on(api, configs, envs):
    present = _shard(1610064000)
    assert present != _shard(1609459200)
    envs["test"].create_table("test_ks", present, {"doc_id": "text", "content": "text", "status": "text"},
                              primary_key=["doc_id"])
    envs["test"].insert("test_ks", present, {"doc_id": doc_key(1610064000), "content": "again", "status": "ok"})
    try:
        # both sides sharded: test has only one of the two docs_N tables
        r = _sharded(api, configs, [doc_key(1609459200), doc_key(1610064000)], pro=True, test=True)
    finally:
        envs["test"].drop_table("test_ks", present)

    assert r.status == 200, r.json
    info = r.data["sharding_info"]
    assert info["failed_keys"] == [doc_key(1609459200)]
    assert f"table test_ks.{_shard(1609459200)} does not exist" in info["failed_key_reasons"][doc_key(1609459200)]
    assert r.data["identical_count"] == 1 and r.data["summary"]["counts"]["skipped_keys"] == 1
    assert any("create the missing table" in t for t in r.data["summary"]["recommendations"])


def test_sharding_history_records_query_type(api, configs, db):
    r = _sharded(api, configs, KEYS[:2])

    row = db.one("SELECT query_type, sharding_config FROM query_history WHERE id = :id", id=r.data["history_id"])
    assert row["query_type"] == "sharding"
    assert row["sharding_config"]["table_count"] == SHARDS
    logs = db.query("SELECT query_type FROM query_logs WHERE batch_id = :b", b=r.data["batch_id"])
    assert {entry["query_type"] for entry in logs} == {"cassandra_sharding"}
