"""Redis comparison, config groups, query history and query logs over HTTP."""
from __future__ import annotations

import json
import time

import pytest

from tests.compare import redis_servers as rs
from tests.compare.conftest import side_config
from tests.jobs.conftest import inline_queue  # noqa: F401 - jobs in process, retried without delay


def compare_body(cfg1, cfg2, keys, **kw):
    return {"cluster1_config": cfg1, "cluster2_config": cfg2, "query_mode": "specified", "keys": keys, **kw}


def test_redis_compare_answers_seed_fields_and_saves_history_and_logs(api, cfg1, cfg2, env1, env2):
    env1.set("user:1001", '{"name":"John","age":25}')
    env2.set("user:1001", '{"name":"John","age":26}')
    env1.set("user:1002", '{"name":"Jane","age":30}')
    env2.set("user:1002", '{"age":30,"name":"Jane"}')
    env2.set("session:abc123", "x")
    r = api.post("/api/redis/compare", compare_body(cfg1, cfg2, ["user:1001", "user:1002", "session:abc123"],
                                                    name="nightly"))
    assert r.status == 200, r.json
    d = r.data
    assert r.json["message"] == "Redis comparison completed"
    assert (d["total_keys"], d["cluster1_found"], d["cluster2_found"]) == (3, 2, 3)
    assert d["differences"][0]["key"] == "user:1001" and d["differences"][0]["difference_type"] == "value_mismatch"
    assert d["identical"] == []  # exact by default: another key order is not the same bytes
    assert [(f["key"], f["format_kinds"], f["tolerated_by_mode"]) for f in d["format_only"]] == \
        [("user:1002", ["json_key_order"], False)]
    assert d["missing_in_cluster1"] == ["session:abc123"] and d["missing_in_cluster2"] == []
    assert d["cluster_stats"]["cluster1"]["connection_status"] == "connected"
    assert set(d["performance_summary"]) >= {"total_execution_time", "keys_per_second", "data_transferred_kb"}
    assert rs.PASSWORD not in r.body.decode()

    hid = d["history_id"]
    h = api.get(f"/api/query-history/{hid}").data
    assert h["name"] == "nightly" and h["query_type"] == "redis" and h["total_keys"] == 3
    assert h["test_config"]["password"] == "********"
    assert h["query_keys"] == ["user:1001", "user:1002", "session:abc123"]
    assert h["results_summary"]["differences_count"] == 3
    res = api.get(f"/api/query-history/{hid}/results").data
    assert res["differences"] == d["differences"] and res["summary"] == d["summary"]
    assert res["identical"] == d["identical"] and res["format_only"] == d["format_only"]

    logs = api.get(f"/api/query-logs/history/{hid}").data
    assert logs["history_id"] == hid
    assert {lg["batch_id"] for lg in logs["logs"]} == {d["batch_id"]}
    assert logs["log_summary"]["total_logs"] == len(logs["logs"]) >= 3
    assert logs["log_summary"]["error_count"] == 0
    assert logs["log_summary"]["start_time"] <= logs["log_summary"]["end_time"]
    assert all(lg["query_type"] == "redis" for lg in logs["logs"])


def test_save_history_false_writes_logs_only(api, cfg1, cfg2, env1, env2):
    r = api.post("/api/redis/compare", compare_body(cfg1, cfg2, ["a"], save_history=False))
    assert r.status == 200 and r.data["history_id"] is None
    logs = api.get(f"/api/query-logs?batch_id={r.data['batch_id']}").data
    assert logs["total"] >= 2 and all(lg["history_id"] is None for lg in logs["logs"])


def test_side_down_is_connection_error_with_details_and_an_error_log(api, cfg1, env1):
    dead = {"name": "gone", "nodes": [{"host": "127.0.0.1", "port": rs.free_port()}], "password": "hunter2-xyz",
            "socket_connect_timeout": 0.5}
    r = api.post("/api/redis/compare", compare_body(cfg1, dead, ["k"]))
    assert r.status == 503 and r.error["code"] == "CONNECTION_ERROR" and r.headers["retry-after"] == "1"
    assert r.error["details"]["cluster"] == "gone" and r.error["details"]["suggestions"]
    assert "hunter2-xyz" not in r.body.decode()
    errors = api.get("/api/query-logs?level=ERROR&limit=20").data["logs"]
    assert any("gone" in lg["message"] for lg in errors)
    assert all("hunter2-xyz" not in lg["message"] for lg in errors)


def test_wrong_password_over_http_says_authentication_failed(api, cfg1, redis_env2, env1):
    bad = side_config(redis_env2, "test", password="not-it")
    r = api.post("/api/redis/compare", compare_body(cfg1, bad, ["k"]))
    # the server answered and refused the configured credentials: the caller's to fix, not a retry's
    assert r.status == 422 and "Authentication failed" in r.error["message"] and "retry-after" not in r.headers
    assert "not-it" not in r.body.decode()


@pytest.mark.parametrize("body, loc", [
    ({"cluster1_config": {"nodes": ["h:1"]}, "cluster2_config": {"nodes": ["h:2"]}, "query_mode": "specified"},
     "keys"),
    ({"cluster1_config": {"nodes": []}, "cluster2_config": {"nodes": ["h:2"]}, "keys": ["a"]}, "nodes"),
    ({"keys": ["a"]}, "cluster1_config"),
])
def test_invalid_compare_requests_are_400(api, body, loc):
    r = api.post("/api/redis/compare", body)
    assert r.status == 400 and r.error["code"] == "VALIDATION_ERROR"
    assert loc in json.dumps(r.error)


def test_viewer_may_not_run_a_comparison(api, keys, cfg1, cfg2):
    r = api.as_key(keys["viewer"]).post("/api/redis/compare", compare_body(cfg1, cfg2, ["a"]))
    assert r.status == 403


def test_async_comparison_runs_as_a_job_with_history(api, db, cfg1, cfg2, env1, env2):
    for i in range(30):
        env1.set(f"k{i}", "v")
        env2.set(f"k{i}", "v" if i else "w")
    r = api.post("/api/redis/compare", compare_body(cfg1, cfg2, [f"k{i}" for i in range(30)], **{"async": True}))
    assert r.status == 202, r.json
    job_id = r.data["job_id"]
    payload = db.scalar("SELECT payload::text FROM jobs WHERE id = CAST(:id AS uuid)", id=job_id)
    assert rs.PASSWORD not in payload
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = api.get(f"/api/jobs/{job_id}").data
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "succeeded", job
    assert job["progress"] == 100 or job["progress"] >= 99
    result = job["result"]
    assert result["differences_count"] == 1 and result["total_keys"] == 30
    h = api.get(f"/api/query-history/{result['history_id']}").data
    assert h["job_id"] == job_id and h["differences_count"] == 1


def test_an_async_comparison_with_an_unreachable_side_is_retried_as_a_dependency_fault(api, inline_queue, cfg1,
                                                                                        env1):
    dead = {"name": "gone", "nodes": [{"host": "127.0.0.1", "port": rs.free_port()}], "socket_connect_timeout": 0.5}
    r = api.post("/api/redis/compare", compare_body(cfg1, dead, ["k"], **{"async": True}))
    assert r.status == 202, r.json
    assert inline_queue.wait_idle(60)
    job = api.get(f"/api/jobs/{r.data['job_id']}").data
    assert job["status"] == "failed" and job["attempts"] == 2  # compare.redis has 2 attempts: it was retried
    assert job["error"]["code"] == "CONNECTION_ERROR" and "dependency" in job["error"]["hint"]


# ---------------------------------------------------------------- config groups


def test_config_group_round_trip_masks_and_encrypts_secrets(api, db, cfg1, cfg2, env1, env2):
    r = api.post("/api/config-groups", {"name": f"redis-pair-{time.time_ns()}", "description": "prod vs test",
                                        "cluster1_config": cfg1, "cluster2_config": cfg2,
                                        "query_config": {"keys": ["a", "b"]}})
    assert r.status == 201 and r.data["group_type"] == "redis"
    gid = r.data["id"]
    assert isinstance(gid, int)
    stored = db.scalar("SELECT test_config::text FROM config_groups WHERE id = :id", id=gid)
    assert rs.PASSWORD not in stored and "_enc" in stored
    g = api.get(f"/api/config-groups/{gid}").data
    assert g["cluster2_config"]["password"] == "********" and g["test_config"]["password"] == "********"
    assert g["query_config"] == {"keys": ["a", "b"]}

    env1.set("a", "1")
    env2.set("a", "1")
    env2.set("b", "2")
    c = api.post("/api/redis/compare", {"config_group_id": gid})
    assert c.status == 200, c.json
    assert c.data["identical"][0]["key"] == "a" and c.data["missing_in_cluster1"] == ["b"]
    assert api.get(f"/api/query-history/{c.data['history_id']}").data["config_group_id"] == gid

    # sending the mask back keeps the stored password
    g["cluster2_config"]["name"] = "renamed"
    u = api.put(f"/api/config-groups/{gid}", {"cluster2_config": g["cluster2_config"], "description": "new"})
    assert u.status == 200 and u.data["cluster2_config"]["name"] == "renamed"
    assert u.data["description"] == "new"
    assert api.post("/api/redis/compare", {"config_group_id": gid, "keys": ["a"]}).status == 200

    listed = api.get("/api/config-groups?limit=500").data
    assert set(listed) == {"items", "total", "has_more"}
    assert any(i["id"] == gid for i in listed["items"])
    assert rs.PASSWORD not in json.dumps(listed)


def test_cassandra_config_group_keeps_seed_shape(api):
    body = {"name": f"cass-{time.time_ns()}", "description": "Cassandra",
            "pro_config": {"cluster_name": "p", "hosts": ["10.0.1.100"], "port": 9042, "username": "cassandra",
                           "password": "pw-123", "keyspace": "production_ks", "table": "user_data"},
            "test_config": {"cluster_name": "t", "hosts": ["10.0.2.100"], "port": 9042, "password": "pw-456",
                            "keyspace": "test_ks", "table": "user_data"},
            "query_config": {"keys": ["user_id"], "fields_to_compare": [], "exclude_fields": []},
            "sharding_config": {"use_sharding_for_pro": False, "use_sharding_for_test": False,
                                "interval_seconds": 604800, "table_count": 14}}
    r = api.post("/api/config-groups", body)
    assert r.status == 201 and set(r.data) >= {"id", "name", "created_at"}
    g = api.get(f"/api/config-groups/{r.data['id']}").data
    assert g["group_type"] == "cassandra" and g["pro_config"]["password"] == "********"
    assert g["sharding_config"]["table_count"] == 14 and g["pro_config"]["hosts"] == ["10.0.1.100"]
    assert "pw-123" not in json.dumps(g)


def test_config_group_names_are_unique(api, cfg1, cfg2):
    name = f"dup-{time.time_ns()}"
    body = {"name": name, "cluster1_config": cfg1, "cluster2_config": cfg2}
    assert api.post("/api/config-groups", body).status == 201
    r = api.post("/api/config-groups", body)
    assert r.status == 409


def test_invalid_redis_config_in_a_group_is_400(api):
    r = api.post("/api/config-groups", {"name": f"bad-{time.time_ns()}", "cluster1_config": {"nodes": []},
                                        "cluster2_config": {"nodes": ["h:1"]}})
    assert r.status == 400 and "cluster1_config" in json.dumps(r.error)


def test_comparing_with_a_cassandra_group_is_400(api):
    body = {"name": f"c-{time.time_ns()}", "pro_config": {}, "test_config": {}}
    gid = api.post("/api/config-groups", body).data["id"]
    r = api.post("/api/redis/compare", {"config_group_id": gid, "keys": ["a"]})
    assert r.status == 400


def test_deleting_a_config_group_is_admin_only_then_404(api, keys, cfg1, cfg2):
    gid = api.post("/api/config-groups", {"name": f"del-{time.time_ns()}", "cluster1_config": cfg1,
                                          "cluster2_config": cfg2}).data["id"]
    assert api.as_key(keys["operator"]).delete(f"/api/config-groups/{gid}").status == 403
    r = api.delete(f"/api/config-groups/{gid}")
    assert r.status == 200 and r.data is None
    assert api.get(f"/api/config-groups/{gid}").status == 404
    assert api.get("/api/config-groups/abc").status == 400


def test_default_config_has_seed_shape(api, keys):
    d = api.as_key(keys["viewer"]).get("/api/default-config").data
    assert d["pro_config"]["port"] == 9042 and d["test_config"]["keyspace"] == "test_ks"
    assert d["redis"]["cluster1_config"]["nodes"][0]["port"] == 6379


# ---------------------------------------------------------------- history


def test_history_can_be_saved_listed_filtered_and_deleted(api, keys):
    body = {"name": "用户数据比对-20240805", "description": "生产环境用户数据比对",
            "pro_config": {"hosts": ["10.0.1.100"], "password": "pw-secret"},
            "test_config": {"hosts": ["10.0.2.100"], "password": "pw-secret"},
            "query_config": {"keys": ["user_id"]}, "query_keys": ["1001", "1002", "1003"],
            "results_summary": {"total_keys": 3, "differences_count": 1, "identical_count": 2},
            "execution_time": 1.25, "query_type": "sharding", "sharding_config": None,
            "raw_results": {"differences": [{"key": {"user_id": "1001"}}], "summary": {"overview": "x"},
                            "pro_config": {"password": "pw-secret"}}}
    r = api.post("/api/query-history", body)
    assert r.status == 201
    hid = r.data["id"]
    h = api.get(f"/api/query-history/{hid}").data
    assert h["name"] == body["name"] and h["pro_config"]["password"] == "********"
    assert h["total_keys"] == 3 and h["differences_count"] == 1 and h["execution_time"] == 1.25
    results = api.get(f"/api/query-history/{hid}/results").data
    assert results["differences"] == [{"key": {"user_id": "1001"}}]
    assert results["pro_config"] == {"password": "********"}

    page = api.get("/api/query-history?query_type=sharding&limit=1").data
    assert set(page) == {"items", "total", "has_more"} and len(page["items"]) == 1
    assert page["items"][0]["query_type"] == "sharding"
    assert all(i["query_type"] == "redis" for i in api.get("/api/query-history?query_type=redis").data["items"])
    assert api.get("/api/query-history?query_type=bogus").status == 400

    assert api.as_key(keys["operator"]).delete(f"/api/query-history/{hid}").status == 403
    assert api.delete(f"/api/query-history/{hid}").status == 200
    assert api.get(f"/api/query-history/{hid}").status == 404
    assert api.get(f"/api/query-history/{hid}/results").status == 404


def test_deleting_history_deletes_its_logs(api, cfg1, cfg2, env1, env2):
    hid = api.post("/api/redis/compare", compare_body(cfg1, cfg2, ["a"])).data["history_id"]
    assert api.get(f"/api/query-logs?history_id={hid}").data["total"] > 0
    assert api.delete(f"/api/query-history/{hid}").data["deleted_logs"] > 0
    assert api.get(f"/api/query-logs?history_id={hid}").data["total"] == 0


# ---------------------------------------------------------------- logs


def test_logs_filter_by_level_and_limit(api, cfg1, cfg2, env1, env2):
    api.post("/api/redis/compare", compare_body(cfg1, cfg2, ["a"]))
    page = api.get("/api/query-logs?limit=2").data
    assert len(page["logs"]) == 2 and page["total"] >= 2 and set(page) == {"logs", "total", "has_more"}
    lg = page["logs"][0]
    assert set(lg) >= {"id", "batch_id", "history_id", "timestamp", "level", "message", "query_type", "created_at"}
    assert all(x["level"] == "INFO" for x in api.get("/api/query-logs?level=INFO").data["logs"])
    assert api.get("/api/query-logs?level=DEBUG").status == 400


def test_logs_of_an_unknown_history_are_404(api):
    assert api.get("/api/query-logs/history/999999999").status == 404


def test_clearing_logs_is_admin_only_and_counts(api, keys, cfg1, cfg2, env1, env2):
    hid = api.post("/api/redis/compare", compare_body(cfg1, cfg2, ["a"])).data["history_id"]
    assert api.as_key(keys["operator"]).delete("/api/query-logs").status == 403
    n = api.get(f"/api/query-logs?history_id={hid}").data["total"]
    r = api.delete(f"/api/query-logs?history_id={hid}")
    assert r.status == 200 and r.data == {"deleted_count": n}
    r = api.delete("/api/query-logs")
    assert r.status == 200 and r.data["deleted_count"] >= 0
    assert api.get("/api/query-logs").data["total"] == 0


def test_a_run_whose_messages_and_results_hold_nul_and_invalid_utf8_is_saved_reversibly(api, db):
    from chalicelib.compare.core.binary import from_binary_form
    from chalicelib.compare.runs import ComparisonRun

    run = ComparisonRun("redis", name="nul\x00name")
    with run:
        run.log("WARNING", "key a\x00b could not be read", key="a\x00b")
        run.finish({"total_keys": 1, "differences": [{"key": "a\x00b", "cluster1_value": b"\xff\x00"}]},
                   query_keys=["a\x00b"])

    saved = api.get(f"/api/query-history/{run.history_id}").data
    assert from_binary_form(saved["query_keys"][0]) == b"a\x00b"
    results = api.get(f"/api/query-history/{run.history_id}/results").data
    assert from_binary_form(results["differences"][0]["cluster1_value"]) == b"\xff\x00"
    logs = api.get(f"/api/query-logs?batch_id={run.batch_id}").data["logs"]
    warning = next(entry for entry in logs if entry["level"] == "WARNING")
    assert from_binary_form(json.loads(warning["message"])) == b"key a\x00b could not be read"
    assert from_binary_form(warning["details"]["key"]) == b"a\x00b"


def test_an_async_comparison_takes_binary_keys_in_their_base64_form(api, cfg1, cfg2, env1, env2):
    from chalicelib.jobs.queue import get_queue

    env1.set(b"\xffkey", b"\x00v")
    env2.set(b"\xffkey", b"\x00v")

    r = api.post("/api/redis/compare", compare_body(cfg1, cfg2, [{"base64": "/2tleQ=="}], **{"async": True}))

    assert r.status == 202, r.json
    assert get_queue().wait_idle(30)
    job = api.get(f"/api/jobs/{r.data['job_id']}").data
    assert job["status"] == "succeeded", job
    assert job["result"]["identical_count"] == 1


def test_an_async_comparison_takes_a_priority_and_an_idempotency_key(api, cfg1, cfg2, env1, env2):
    env1.set("ik", "v")
    env2.set("ik", "v")
    body = compare_body(cfg1, cfg2, ["ik"], **{"async": True, "priority": "critical"})
    headers = {"Idempotency-Key": f"retry-{time.time_ns()}"}
    first = api.post("/api/redis/compare", body, headers=headers)
    second = api.post("/api/redis/compare", body, headers=headers)
    assert first.status == second.status == 202, (first.json, second.json)
    assert first.data["job_id"] == second.data["job_id"]
    assert first.data["job"]["priority"] == "critical"
    other = api.post("/api/redis/compare", body, headers={"Idempotency-Key": f"other-{time.time_ns()}"})
    assert other.data["job_id"] != first.data["job_id"]


def test_an_unknown_priority_is_a_400_naming_it(api, cfg1, cfg2):
    r = api.post("/api/redis/compare", compare_body(cfg1, cfg2, ["x"], **{"async": True, "priority": "urgent"}))
    assert r.status == 400
    assert "priority" in json.dumps(r.json["error"])
