"""The Redis comparison engine against real redis-server processes."""
from __future__ import annotations

import json

import pytest

from chalicelib.compare.redis import RedisCompareRequest, compare_redis
from chalicelib.errors import ConnectionFailed, ValidationError
from tests.compare import redis_servers as rs
from tests.compare.conftest import side_config


def run(c1: dict, c2: dict, keys=None, **kw) -> dict:
    body = {"cluster1_config": c1, "cluster2_config": c2, **kw}
    if keys is not None:
        body["keys"] = keys
    return compare_redis(RedisCompareRequest.model_validate(body))


def by_key(items):
    return {d["key"]: d for d in items}


def fill_every_type(r, variant: int = 0):
    r.set("str", "hello")
    r.hset("hash", mapping={"a": "1", "b": "2"})
    r.rpush("list", "x", "y", "z")
    r.sadd("set", "m1", "m2")
    r.zadd("zset", {"p": 1.0, "q": 2.0})
    r.xadd("stream", {"f": "v"}, id="1-1")
    r.xadd("stream", {"g": "w"}, id="2-1")
    if variant:
        r.set("str", "hullo")
        r.hset("hash", "b", "3")
        r.hset("hash", "c", "new")
        r.rpush("list", "extra")
        r.sadd("set", "m3")
        r.srem("set", "m1")
        r.zadd("zset", {"q": 5.0})
        r.xadd("stream", {"h": "u"}, id="3-1")


TYPES = ["str", "hash", "list", "set", "zset", "stream"]


def test_identical_values_of_every_type_are_identical(cfg1, cfg2, env1, env2):
    fill_every_type(env1)
    fill_every_type(env2)
    a = run(cfg1, cfg2, TYPES)
    assert a["total_keys"] == 6 and a["cluster1_found"] == 6 and a["cluster2_found"] == 6
    assert a["differences"] == []
    ident = by_key(a["identical"])
    assert {k: v["value_type"] for k, v in ident.items()} == {
        "str": "string", "hash": "hash", "list": "list", "set": "set", "zset": "zset", "stream": "stream"}
    assert ident["hash"]["value"] == {"a": "1", "b": "2"}
    assert ident["zset"]["value"] == [["p", 1.0], ["q", 2.0]]
    assert ident["stream"]["value"][0] == {"id": "1-1", "fields": {"f": "v"}}
    assert a["summary"]["percentages"]["match_rate"] == 100.0


def test_differing_values_of_every_type_are_value_mismatches_with_member_details(cfg1, cfg2, env1, env2):
    fill_every_type(env1)
    fill_every_type(env2, variant=1)
    a = run(cfg1, cfg2, TYPES)
    diffs = by_key(a["differences"])
    assert set(diffs) == set(TYPES)
    assert all(d["difference_type"] == "value_mismatch" for d in diffs.values())
    assert diffs["str"]["cluster1_value"] == "hello" and diffs["str"]["cluster2_value"] == "hullo"
    h = diffs["hash"]
    assert h["member_differences"]["changed"] == ["b"]
    assert h["member_differences"]["only_in_cluster2"] == ["c"]
    assert sorted(h["json_paths"]) == ["$.b", "$.c"]
    assert diffs["list"]["member_differences"]["only_in_cluster2"] == [3]
    s = diffs["set"]["member_differences"]
    assert s["only_in_cluster1"] == ["m1"] and s["only_in_cluster2"] == ["m3"]
    z = diffs["zset"]["member_differences"]["changed"][0]
    assert z == {"member": "q", "cluster1_score": 2.0, "cluster2_score": 5.0}
    assert diffs["stream"]["member_differences"]["only_in_cluster2"] == ["3-1"]
    assert a["summary"]["type_analysis"]["hash"]["different"] == 1


def test_type_mismatch_names_both_types(cfg1, cfg2, env1, env2):
    env1.set("k", "v")
    env2.hset("k", "f", "v")
    d = run(cfg1, cfg2, ["k"])["differences"][0]
    assert d["difference_type"] == "type_mismatch"
    assert (d["cluster1_type"], d["cluster2_type"]) == ("string", "hash")
    assert d["cluster2_value"] == {"f": "v"}


def test_keys_missing_on_each_side_are_listed(cfg1, cfg2, env1, env2):
    env1.set("only1", "a")
    env2.sadd("only2", "b")
    a = run(cfg1, cfg2, ["only1", "only2", "nowhere"])
    assert a["missing_in_cluster2"] == ["only1", "nowhere"]
    assert a["missing_in_cluster1"] == ["only2", "nowhere"]
    assert a["cluster1_found"] == 1 and a["cluster2_found"] == 1
    diffs = by_key(a["differences"])
    assert diffs["only1"]["difference_type"] == "missing"
    assert diffs["only1"]["cluster1_value"] == "a" and diffs["only1"]["cluster2_value"] is None
    assert diffs["nowhere"]["missing_in"] == "both"


@pytest.mark.parametrize("mode, matching", [("exact", 0), ("json", 1), ("normalized", 1)])
def test_json_strings_differing_only_in_key_order_are_format_only_in_every_mode(cfg1, cfg2, env1, env2,
                                                                                   mode, matching):
    env1.set("user:1002", '{"name":"Jane","age":30}')
    env2.set("user:1002", '{"age": 30, "name": "Jane"}')
    env1.set("user:1001", '{"name":"John","age":25}')
    env2.set("user:1001", '{"name":"John","age":26}')
    a = run(cfg1, cfg2, ["user:1001", "user:1002"], compare_mode=mode)
    assert a["identical"] == []
    assert [(f["key"], f["format_kinds"]) for f in a["format_only"]] == \
        [("user:1002", ["json_key_order", "json_whitespace"])]
    assert a["summary"]["counts"]["matching_keys"] == matching
    assert a["differences_count"] == 2 - matching
    d = a["differences"][0]
    assert d["key"] == "user:1001" and d["json_paths"] == ["$.age"] and d["value_type"] == "string"
    assert d["cluster1_value"] == '{"name":"John","age":25}'
    recs = a["summary"]["recommendations"]
    assert "1 key differs only at JSON path $.age." in recs
    assert any("only in formatting" in r for r in recs)


def test_json_inside_hash_fields_reports_nested_paths(cfg1, cfg2, env1, env2):
    env1.hset("h", mapping={"profile": '{"age":1,"city":"A"}', "x": "1"})
    env2.hset("h", mapping={"profile": '{"city":"A","age":2}', "x": "1"})
    d = run(cfg1, cfg2, ["h"])["differences"][0]
    assert d["json_paths"] == ["$.profile.age"]


def test_ttl_drift_beyond_tolerance_is_a_ttl_mismatch(cfg1, cfg2, env1, env2):
    for i in range(12):
        env1.set(f"session:{i}", "v", ex=1000)
        env2.set(f"session:{i}", "v", ex=100)
    env1.set("close", "v", ex=1000)
    env2.set("close", "v", ex=999)
    env1.set("persist", "v")
    env2.set("persist", "v", ex=500)
    keys = [f"session:{i}" for i in range(12)] + ["close", "persist"]
    a = run(cfg1, cfg2, keys, compare_ttl=True, ttl_tolerance_seconds=5)
    diffs = by_key(a["differences"])
    assert "close" not in diffs
    assert diffs["persist"]["difference_type"] == "ttl_mismatch"
    assert diffs["persist"]["cluster1_ttl"] is None and 490 < diffs["persist"]["cluster2_ttl"] <= 500
    assert diffs["session:0"]["difference_type"] == "ttl_mismatch"
    assert any(r.startswith("13 keys differ only in TTL (mostly 'session:*')")
               for r in a["summary"]["recommendations"])


def test_ttl_is_ignored_unless_asked(cfg1, cfg2, env1, env2):
    env1.set("k", "v", ex=1000)
    env2.set("k", "v")
    assert run(cfg1, cfg2, ["k"])["differences"] == []


def test_value_and_ttl_differences_together_are_value_mismatches(cfg1, cfg2, env1, env2):
    env1.set("k", "a", ex=1000)
    env2.set("k", "b")
    d = run(cfg1, cfg2, ["k"], compare_ttl=True)["differences"][0]
    assert d["difference_type"] == "value_mismatch" and d["ttl_mismatch"] is True


PAGED = dict(inline_max_items=16, inline_max_bytes=256, page_size=10, max_value_chars=200)


def test_big_collections_are_compared_in_pages(cfg1, cfg2, env1, env2):
    for r in (env1, env2):
        r.hset("bighash", mapping={f"f{i}": str(i) for i in range(300)})
        r.rpush("biglist", *[str(i) for i in range(300)])
        r.sadd("bigset", *[f"m{i}" for i in range(300)])
        r.zadd("bigzset", {f"m{i}": i for i in range(300)})
        for i in range(1, 301):
            r.xadd("bigstream", {"n": str(i)}, id=f"{i}-0")
        r.set("bigstr", "x" * 5000)
        r.hset("samehash", mapping={f"f{i}": str(i) for i in range(300)})
    env2.hset("bighash", "f7", "changed")
    env2.hdel("bighash", "f8")
    env1.lset("biglist", 250, "changed")
    env2.srem("bigset", "m3")
    env2.sadd("bigset", "extra")
    env2.zadd("bigzset", {"m9": 99})
    env2.xadd("bigstream", {"n": "x"}, id="301-0")
    env2.setrange("bigstr", 4000, "Y")
    keys = ["bighash", "biglist", "bigset", "bigzset", "bigstream", "bigstr", "samehash"]
    a = run(cfg1, cfg2, keys, **PAGED)
    diffs = by_key(a["differences"])
    assert set(diffs) == set(keys) - {"samehash"}
    assert [i["key"] for i in a["identical"]] == ["samehash"]
    h = diffs["bighash"]
    assert h["member_differences"] == {"changed": ["f7"], "changed_count": 1, "only_in_cluster1": ["f8"],
                                       "only_in_cluster1_count": 1}
    assert h["truncated"]["cluster1_value"]["items"] == 300
    assert diffs["biglist"]["member_differences"]["changed"] == [250]
    assert diffs["bigset"]["member_differences"]["only_in_cluster1"] == ["m3"]
    assert diffs["bigset"]["member_differences"]["only_in_cluster2"] == ["extra"]
    assert diffs["bigzset"]["member_differences"]["changed"][0]["member"] == "m9"
    assert diffs["bigstream"]["member_differences"]["only_in_cluster2"] == ["301-0"]
    assert diffs["bigstr"]["truncated"]["cluster1_value"]["size_bytes"] == 5000
    assert any("compared page by page" in r for r in a["summary"]["recommendations"])


def test_big_strings_beyond_json_limit_compare_in_chunks(cfg1, cfg2, env1, env2):
    env1.set("s", "a" * 100_000)
    env2.set("s", "a" * 70_000 + "b" + "a" * 29_999)
    d = run(cfg1, cfg2, ["s"], inline_max_bytes=1024, json_max_bytes=1000)["differences"][0]
    assert d["first_difference_at_byte"] == 70_000


def test_big_json_strings_compare_as_json(cfg1, cfg2, env1, env2):
    doc = {f"k{i}": i for i in range(500)}
    env1.set("j", json.dumps(doc))
    env2.set("j", json.dumps(dict(reversed(list(doc.items())))))
    a = run(cfg1, cfg2, ["j"], inline_max_bytes=256, compare_mode="json")
    assert a["differences"] == [] and a["format_only"][0]["key"] == "j"
    assert a["summary"]["counts"]["matching_keys"] == 1


def test_cluster_against_standalone_groups_keys_by_node(cfg1, cfg_cluster, env1, cluster):
    keys = [f"user:{i}" for i in range(200)]
    for k in keys:
        env1.set(k, k)
        cluster.set(k, k)
    cluster.set("user:7", "other")
    a = run(cfg1, cfg_cluster, keys, batch_size=50)
    assert [d["key"] for d in a["differences"]] == ["user:7"]
    st = a["cluster_stats"]
    assert st["cluster1"]["mode"] == "standalone" and st["cluster2"]["mode"] == "cluster"
    assert st["cluster2"]["masters"] == 3 and st["cluster2"]["connection_status"] == "connected"
    assert {n["role"] for n in st["cluster2"]["nodes_status"]} == {"master"}
    assert a["performance_summary"]["keys_per_second"] > 0
    assert a["performance_summary"]["data_transferred_kb"] > 0


def test_cluster_is_found_from_a_single_seed_node(redis_cluster_nodes, cluster, cfg1, env1):
    cluster.hset("h", "a", "1")
    env1.hset("h", "a", "1")
    seed = side_config(redis_cluster_nodes[:1], "cluster")
    a = run(seed, cfg1, ["h"])
    assert a["cluster_stats"]["cluster1"]["masters"] == 3
    discovered = [n for n in a["cluster_stats"]["cluster1"]["nodes_status"] if n.get("discovered")]
    assert len(discovered) == 2
    assert a["identical"][0]["key"] == "h"


def test_sample_mode_scans_every_master(cfg_cluster, cfg1, cluster, env1):
    for i in range(300):
        cluster.set(f"s:{i}", "1")
    cluster.set("other", "1")
    a = run(cfg_cluster, cfg1, query_mode="sample",
            sample_config={"count": 1000, "pattern": "s:*", "source_cluster": "cluster1", "scan_count": 50})
    assert a["total_keys"] == 300 and a["sample_info"]["sampled"] == 300
    assert len(a["missing_in_cluster2"]) == 300


def test_sample_count_limits_the_sample(cfg1, cfg2, env1, env2):
    for i in range(100):
        env2.set(f"k{i}", "v")
    a = run(cfg1, cfg2, query_mode="sample", sample_config={"count": 10, "source_cluster": "cluster2"})
    assert a["total_keys"] == 10 and a["cluster2_found"] == 10 and a["cluster1_found"] == 0


def test_sampling_never_uses_keys(cfg1, cfg2, env1, env2, redis_env1):
    env1.set("a", "1")
    env1.config_resetstat()
    run(cfg1, cfg2, query_mode="sample", sample_config={"count": 5})
    stats = env1.info("commandstats")
    assert "cmdstat_keys" not in stats and "cmdstat_scan" in stats


def test_transient_differences_disappear_on_recheck(cfg1, cfg2, env1, env2):
    env1.set("k", "new")
    env2.set("k", "old")
    env1.set("stable", "1")
    env2.set("stable", "2")

    def progress(done, total, stage):
        if stage == "comparing":
            env2.set("k", "new")   # replication catches up between the two reads

    a = compare_redis(RedisCompareRequest.model_validate(
        {"cluster1_config": cfg1, "cluster2_config": cfg2, "keys": ["k", "stable"], "recheck_delay_seconds": 0}),
        progress=progress)
    assert [d["key"] for d in a["differences"]] == ["stable"]
    assert a["transient_dropped"] == 1
    assert any("disappeared when re-read" in r for r in a["summary"]["recommendations"])


def test_without_recheck_every_first_read_difference_is_reported(cfg1, cfg2, env1, env2):
    env1.set("k", "new")
    env2.set("k", "old")
    a = run(cfg1, cfg2, ["k"], recheck_rounds=0)
    assert a["transient_dropped"] == 0 and len(a["differences"]) == 1


def test_progress_reports_done_and_total(cfg1, cfg2, env1, env2):
    seen = []
    compare_redis(RedisCompareRequest.model_validate(
        {"cluster1_config": cfg1, "cluster2_config": cfg2, "keys": [f"k{i}" for i in range(25)],
         "batch_size": 10}), progress=lambda d, t, s: seen.append((d, t, s)))
    assert seen[0][2] == "connecting" and seen[-1] == (25, 25, "done")


def test_log_receives_start_and_overview(cfg1, cfg2, env1, env2):
    lines = []
    compare_redis(RedisCompareRequest.model_validate(
        {"cluster1_config": cfg1, "cluster2_config": cfg2, "keys": ["a"]}),
        log=lambda level, msg: lines.append((level, msg)))
    assert lines[0][0] == "INFO" and "Starting Redis comparison" in lines[0][1]
    assert any(m.startswith("Compared 1 key") for _, m in lines)


def test_a_side_that_is_down_is_a_connection_error_with_suggestions(cfg1, env1):
    dead = {"name": "gone", "nodes": [{"host": "127.0.0.1", "port": rs.free_port()}],
            "password": "topsecret", "socket_connect_timeout": 0.5}
    with pytest.raises(ConnectionFailed) as ei:
        run(cfg1, dead, ["k"])
    e = ei.value
    assert e.code == "CONNECTION_ERROR"
    assert e.details["cluster"] == "gone" and e.details["hosts"] == [dead["nodes"][0]["host"] + ":" +
                                                                     str(dead["nodes"][0]["port"])]
    assert "refused" in e.details["error_detail"].lower()
    assert e.details["suggestions"]
    assert "topsecret" not in json.dumps(e.details) + e.message


def test_a_wrong_password_says_authentication_failed(cfg1, redis_env2, env1):
    bad = side_config(redis_env2, "test", password="wrong-one")
    with pytest.raises(ConnectionFailed) as ei:
        run(cfg1, bad, ["k"])
    e = ei.value
    assert "Authentication failed" in e.message and e.details["reason"] == "auth_failed"
    assert "wrong-one" not in json.dumps(e.details) + e.message
    assert any("password" in s for s in e.details["suggestions"])


def test_a_missing_password_says_authentication_failed(cfg1, redis_env2, env1):
    bad = side_config(redis_env2, "test")
    bad.pop("password")
    with pytest.raises(ConnectionFailed) as ei:
        run(cfg1, bad, ["k"])
    assert ei.value.details["reason"] == "auth_failed"


def test_an_acl_user_can_compare(cfg1, redis_env2, env1, env2):
    env1.set("k", "v")
    env2.set("k", "v")
    acl = side_config(redis_env2, "test", username=rs.ACL_USER, password=rs.ACL_PASSWORD)
    a = run(cfg1, acl, ["k"], query_mode="sample", sample_config={"count": 10, "source_cluster": "cluster2"})
    assert a["identical"][0]["key"] == "k"


def test_a_wrong_acl_password_names_the_user(cfg1, redis_env2, env1):
    acl = side_config(redis_env2, "test", username=rs.ACL_USER, password="nope")
    with pytest.raises(ConnectionFailed) as ei:
        run(cfg1, acl, ["k"])
    assert f"user '{rs.ACL_USER}'" in ei.value.message


def test_an_unreachable_extra_node_is_reported_but_not_fatal(cfg1, redis_env2, env1, env2):
    env1.set("k", "v")
    env2.set("k", "v")
    two = side_config(redis_env2, "test")
    two["nodes"].append({"host": "127.0.0.1", "port": rs.free_port()})
    a = run(cfg1, two, ["k"])
    st = a["cluster_stats"]["cluster2"]
    assert st["connection_status"] == "partial"
    assert [n["status"] for n in st["nodes_status"]] == ["connected", "unreachable"]
    assert a["identical"][0]["key"] == "k"


def test_answers_never_contain_passwords(cfg1, cfg2, env1, env2):
    env1.set("k", "v")
    a = run(cfg1, cfg2, ["k"])
    assert rs.PASSWORD not in json.dumps(a)


def test_a_cluster_side_refuses_a_nonzero_db(cfg1, cfg_cluster, env1):
    with pytest.raises(ValidationError):
        run(cfg1, {**cfg_cluster, "db": 3}, ["k"])


def test_databases_other_than_zero_can_be_compared(cfg1, redis_env1, env1):
    env1.set("k", "a")
    other = redis_env1.client(db=2)
    other.set("k", "b")
    try:
        a = run(cfg1, side_config(redis_env1, "db2", db=2), ["k"])
    finally:
        other.flushdb()
    assert a["differences"][0]["cluster2_value"] == "b"


def test_listing_limits_keep_the_answer_small(cfg1, cfg2, env1, env2):
    keys = [f"k{i}" for i in range(50)]
    for k in keys:
        env1.set(k, "v")
        env2.set(k, "v")
    a = run(cfg1, cfg2, keys, max_listed=5)
    assert len(a["identical"]) == 5 and a["identical_count"] == 50


@pytest.mark.parametrize("body, field", [
    ({"keys": ["a"]}, "cluster1_config"),
    ({"cluster1_config": {"nodes": []}, "cluster2_config": {"nodes": [{"host": "h"}]}, "keys": ["a"]}, "nodes"),
    ({"cluster1_config": {"nodes": ["h:1"]}, "cluster2_config": {"nodes": ["h:2"]}}, "keys"),
    ({"cluster1_config": {"nodes": ["h:1"]}, "cluster2_config": {"nodes": ["h:2"]}, "keys": ["a"],
      "query_mode": "all"}, "query_mode"),
])
def test_invalid_requests_are_refused(body, field):
    from pydantic import ValidationError as PydanticError
    with pytest.raises(PydanticError) as ei:
        RedisCompareRequest.model_validate(body)
    assert field in str(ei.value)


def test_nodes_may_be_given_as_host_port_strings():
    r = RedisCompareRequest.model_validate(
        {"cluster1_config": {"nodes": ["10.0.0.1:7000"]}, "cluster2_config": {"nodes": ["h"]}, "keys": ["a"]})
    assert r.cluster1_config.nodes[0].port == 7000 and r.cluster2_config.nodes[0].port == 6379


def test_a_cluster_master_that_is_down_is_reported_and_its_keys_skipped(cfg1, env1):
    nodes = rs.start_cluster(3, extra_args=["--cluster-require-full-coverage", "no"])
    try:
        cl = rs.cluster_client(nodes)
        keys = [f"k{i}" for i in range(30)]
        for k in keys:
            cl.set(k, "v")
            env1.set(k, "v")
        dead = nodes[2]
        on_dead = {k for k in keys if cl.get_node_from_key(k).port == dead.port}
        cl.close()
        assert on_dead
        dead.stop()
        a = run(cfg1, side_config(nodes, "cluster"), keys)
    finally:
        for n in nodes:
            n.stop()
    st = a["cluster_stats"]["cluster2"]
    assert st["connection_status"] == "partial"
    assert {n["port"]: n["status"] for n in st["nodes_status"]}[dead.port] == "unreachable"
    assert {s["key"] for s in a["skipped_keys"]} == on_dead
    assert {i["key"] for i in a["identical"]} == set(keys) - on_dead
    assert a["differences"] == []
    assert any("could not be read" in r for r in a["summary"]["recommendations"])
