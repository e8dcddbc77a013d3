"""POST /api/query end to end: two CQL test servers, the real driver, the HTTP API."""
from __future__ import annotations

import pytest

from tests.cassandra.conftest import ALL_TYPE_COLUMNS, KEY_TYPES, PRO_PASSWORD, TEST_PASSWORD
from tests.jobs.conftest import inline_queue  # noqa: F401 - jobs in process, retried without delay


def _query(api, configs, table="user_data", **body):
    pro, test = configs(table)
    payload = {"pro_config": pro, "test_config": test, "keys": ["user_id"]}
    payload.update(body)
    return api.post("/api/query", payload)


def test_single_table_comparison_reports_seed_fields(api, configs):
    r = _query(api, configs, values=["1001", "1002", "1003", "1004", "1005", "1006"],
               exclude_fields=["created_at"])

    assert r.status == 200, r.json
    data = r.data
    assert data["total_keys"] == 6
    assert (data["pro_count"], data["test_count"]) == (5, 5)
    diffs = {(d["key"]["user_id"], d.get("field")) for d in data["differences"]}
    assert (data["summary"]["counts"]["missing_in_pro"], data["summary"]["counts"]["missing_in_test"]) == (1, 1)
    assert ("1001", "email") in diffs and ("1004", "updated_at") in diffs
    email = next(d for d in data["differences"] if d.get("field") == "email")
    assert (email["pro_value"], email["test_value"]) == ("user1@prod.com", "user1@test.com")
    assert email["message"]
    assert data["field_diff_count"] == {"email": 1, "updated_at": 1}
    assert data["missing_in_test"] == [{"user_id": "1003"}]
    assert data["missing_in_pro"] == [{"user_id": "1006"}]
    identical = {i["key"]["user_id"] for i in data["identical_results"]}
    assert identical == {"1002", "1005"}  # 1005: same set in another order
    same = next(i for i in data["identical_results"] if i["key"]["user_id"] == "1002")
    assert same["pro_fields"]["email"] == same["test_fields"]["email"] == "user1002@example.com"
    assert len(data["raw_pro_data"]) == 5 and len(data["raw_test_data"]) == 5
    summary = data["summary"]
    assert summary["overview"] and summary["recommendations"]
    assert summary["percentages"]["match_rate"] == pytest.approx(33.33)
    assert "email" in summary["field_analysis"]
    assert data["execution_time"] >= 0 and data["history_id"]


def test_fields_to_compare_limits_the_comparison(api, configs):
    r = _query(api, configs, values=["1001", "1004"], fields_to_compare=["name", "status"])

    assert r.status == 200, r.json
    assert r.data["differences"] == []
    assert r.data["fields_compared"] == ["name", "status"]
    assert set(r.data["raw_pro_data"][0]) == {"user_id", "name", "status"}


def test_exclude_fields_drops_fields(api, configs):
    r = _query(api, configs, values=["1001", "1004"], exclude_fields=["email", "updated_at"])

    assert r.status == 200
    assert r.data["differences"] == [] and r.data["identical_count"] == 2


def test_timestamp_and_decimal_values_are_shown_normalised(api, configs):
    r = _query(api, configs, values=["1002"])

    row = r.data["raw_pro_data"][0]
    assert row["created_at"] == "2024-08-05T10:30:00.000Z"
    assert row["balance"] == "10.50"
    assert row["tags"] == ["a", "b"]


def test_json_text_columns_compare_as_json(api, configs, envs):
    envs["test"].insert("test_ks", "user_data", {"user_id": 1010, "profile": '{"city": "Paris", "age": 30}'})
    envs["pro"].insert("production_ks", "user_data", {"user_id": 1010, "profile": '{"age": 30, "city": "Paris"}'})
    envs["test"].insert("test_ks", "user_data", {"user_id": 1011, "profile": '{"age": 31, "city": "Paris"}'})
    envs["pro"].insert("production_ks", "user_data", {"user_id": 1011, "profile": '{"age": 30, "city": "Paris"}'})

    r = _query(api, configs, values=["1010", "1011"], fields_to_compare=["profile"])

    assert [d["key"]["user_id"] for d in r.data["differences"]] == ["1011"]
    assert r.data["differences"][0]["json_paths"] == ["$.age"]


@pytest.mark.parametrize("column", [c for c in ALL_TYPE_COLUMNS if c != "id"])
def test_every_type_is_normalised_then_compared(api, configs, column):
    r = _query(api, configs, table="all_types", keys=["id"], values=["row1", "row2"], fields_to_compare=[column])

    assert r.status == 200, r.json
    differing = {d["key"]["id"] for d in r.data["differences"]}
    changed_in_row2 = {"c_timestamp", "c_list", "c_udt", "c_decimal", "c_map", "c_set", "c_tuple", "c_blob"}
    assert "row1" not in differing  # same values, another order / scale where the type allows it
    assert ("row2" in differing) == (column in changed_in_row2)


def test_values_of_every_type_have_a_json_display(api, configs):
    r = _query(api, configs, table="all_types", keys=["id"], values=["row1"])

    row = r.data["raw_pro_data"][0]
    assert row["c_timestamp"] == "2021-01-01T08:00:00.123Z"
    assert row["c_date"] == "2021-02-28"
    assert row["c_decimal"] == "1.50" and row["c_varint"] == 10**25
    assert row["c_uuid"] == "123e4567-e89b-12d3-a456-426614174000"
    assert row["c_blob"] == {"base64": "AQI="}
    assert row["c_set"] == ["x", "y"] and row["c_list"] == [3, 1, 2]
    assert row["c_map"] == {"a": 1, "b": 2}
    assert row["c_tuple"] == [1, "one"]
    assert row["c_udt"] == {"street": "Main", "zip": 12345}


@pytest.mark.parametrize("type_name", sorted(KEY_TYPES))
def test_key_strings_are_converted_to_every_key_type(api, configs, type_name):
    text, _ = KEY_TYPES[type_name]

    r = _query(api, configs, table=f"key_{type_name}", keys=["k"], values=[text])

    assert r.status == 200, r.json
    assert (r.data["pro_count"], r.data["test_count"], r.data["identical_count"]) == (1, 1, 1)


@pytest.mark.parametrize("type_name, bad", [("int", "abc"), ("int", "99999999999"), ("uuid", "not-a-uuid"),
                                            ("timestamp", "yesterday"), ("boolean", "maybe"), ("blob", "0xZZ"),
                                            ("decimal", "1.2.3"), ("date", "2021-13-40")])
def test_unconvertible_key_value_is_a_400_naming_it(api, configs, type_name, bad):
    r = _query(api, configs, table=f"key_{type_name}", keys=["k"], values=[bad])

    assert r.status == 400
    assert r.error["code"] == "VALIDATION_ERROR"
    assert repr(bad) in r.error["message"] and type_name in r.error["message"]


@pytest.mark.parametrize("values", [
    [["t1", "1", "1"], ["t2", "2", "2"], ["t1", "2", "1"], ["t9", "1", "1"]],
    [{"tenant": "t1", "day": "1", "seq": "1"}, {"tenant": "t2", "day": "2", "seq": "2"},
     {"tenant": "t1", "day": "2", "seq": "1"}, {"tenant": "t9", "day": "1", "seq": "1"}],
], ids=["lists", "objects"])
def test_composite_keys_as_lists_or_objects(api, configs, values):
    r = _query(api, configs, table="events", keys=["tenant", "day", "seq"], values=values)

    assert r.status == 200, r.json
    data = r.data
    assert [(d["key"], d["field"]) for d in data["differences"] if d["difference_type"] != "missing"] == \
        [({"tenant": "t2", "day": "2", "seq": "2"}, "payload")]
    assert data["identical_count"] == 2
    assert data["missing_in_both"] == [{"tenant": "t9", "day": "1", "seq": "1"}]


def test_composite_key_queries_bind_equality_then_in(api, configs, envs):
    _query(api, configs, table="events", keys=["tenant", "day", "seq"], values=[["t1", "1", "1"], ["t1", "1", "2"]])

    prepared = [s[1] for s in envs["pro"].user_statements("PREPARE") if "events" in s[1]]
    assert prepared[-1] == "SELECT * FROM production_ks.events WHERE tenant = ? AND day = ? AND seq IN ?"


def test_wrong_composite_key_shape_is_a_400(api, configs):
    r = _query(api, configs, table="events", keys=["tenant", "day", "seq"], values=[["t1", "1"]])

    assert r.status == 400
    assert r.error["details"]["errors"][0]["loc"] == ["body", "values", 0]


def test_keys_are_fetched_in_prepared_in_batches(api, configs, envs):
    before = len(envs["pro"].user_statements("EXECUTE"))

    r = _query(api, configs, values=[str(1000 + i) for i in range(25)], batch_size=10, recheck_rounds=0)

    assert r.status == 200
    executes = envs["pro"].user_statements("EXECUTE")[before:]
    assert [s[2] for s in executes] == [1, 1, 1]  # one bound list per query
    assert all("IN ?" in s[1] for s in executes)
    assert {s[3] for s in executes} == {"LOCAL_QUORUM"}


def test_run_writes_history_and_logs_without_passwords(api, configs, db):
    r = _query(api, configs, values=["1001", "1002"], name="nightly users")

    history = db.one("SELECT * FROM query_history WHERE id = :id", id=r.data["history_id"])
    assert history["name"] == "nightly users" and history["query_type"] == "single"
    assert history["total_keys"] == 2 and history["differences_count"] == 1
    assert history["pro_config"]["password"] == "********"
    logs = db.query("SELECT level, message FROM query_logs WHERE batch_id = :b ORDER BY id", b=r.data["batch_id"])
    assert logs and logs[0]["level"] == "INFO"
    stored = str(history) + str(logs) + r.body.decode()
    assert PRO_PASSWORD not in stored and TEST_PASSWORD not in stored


def test_save_history_false_writes_logs_only(api, configs, db):
    r = _query(api, configs, values=["1002"], save_history=False)

    assert r.data["history_id"] is None
    assert db.scalar("SELECT COUNT(*) FROM query_logs WHERE batch_id = :b", b=r.data["batch_id"]) > 0


def test_async_comparison_runs_as_a_job(api, configs, db):
    from chalicelib.jobs.queue import get_queue

    r = _query(api, configs, values=["1001", "1002"], **{"async": True})

    assert r.status == 202, r.json
    assert PRO_PASSWORD not in r.body.decode()
    job_id = r.data["id"]
    assert get_queue().wait_idle(30)
    job = api.get(f"/api/jobs/{job_id}").data
    assert job["status"] == "succeeded", job
    assert job["progress"] == 100
    assert job["result"]["total_keys"] == 2 and job["result"]["differences_count"] == 1
    stored = db.one("SELECT payload::text AS p FROM jobs WHERE id = CAST(:id AS uuid)", id=job_id)["p"]
    assert PRO_PASSWORD not in stored and TEST_PASSWORD not in stored


@pytest.mark.parametrize("error, code, attempts", [("read_failure", "QUERY_ERROR", 2),   # 503: retried
                                                    ("unavailable", "CONNECTION_ERROR", 2)])
def test_an_async_comparison_whose_replicas_fail_is_retried_as_a_dependency_fault(api, configs, envs, inline_queue,
                                                                                 error, code, attempts):
    envs["test"].time_out_reads(count=None, error=error)
    try:
        r = _query(api, configs, values=["1001"], **{"async": True})
        assert r.status == 202, r.json
        assert inline_queue.wait_idle(60)
    finally:
        envs["test"].clear_failures()
    job = api.get(f"/api/jobs/{r.data['id']}").data
    assert job["status"] == "failed" and job["attempts"] == attempts  # compare.cassandra has 2 attempts
    assert job["error"]["code"] == code and "dependency" in job["error"]["hint"]


def test_an_async_comparison_of_a_missing_table_fails_at_once(api, configs, inline_queue):
    pro, test = configs(pro={"table": "no_such_table"})
    r = api.post("/api/query", {"pro_config": pro, "test_config": test, "keys": ["user_id"], "values": ["1001"],
                                "async": True})
    assert r.status == 202, r.json
    assert inline_queue.wait_idle(60)
    job = api.get(f"/api/jobs/{r.data['id']}").data
    assert job["status"] == "failed" and job["attempts"] == 1 and job["error"]["code"] == "QUERY_ERROR"


def test_config_group_supplies_configs_and_keys(api, configs):
    import time

    pro, test = configs()
    group = api.post("/api/config-groups", {
        "name": f"cassandra users {time.time_ns()}", "pro_config": pro, "test_config": test,
        "query_config": {"keys": ["user_id"], "fields_to_compare": [], "exclude_fields": ["updated_at"]}})
    assert group.status == 201, group.json

    r = api.post("/api/query", {"config_group_id": group.data["id"], "values": ["1001", "1004"]})

    assert r.status == 200, r.json
    assert r.data["field_diff_count"] == {"email": 1}
    assert PRO_PASSWORD not in r.body.decode()


def test_config_group_with_a_bad_cassandra_port_is_refused(api, configs):
    pro, test = configs(pro={"port": 70000})

    r = api.post("/api/config-groups", {"name": "bad port", "pro_config": pro, "test_config": test})

    assert r.status == 400
    assert r.error["details"]["errors"][0]["loc"] == ["pro_config", "port"]


def test_config_group_with_a_write_only_consistency_level_is_refused_when_saved(api, configs):
    pro, test = configs(test={"consistency_level": "ANY"})

    r = api.post("/api/config-groups", {"name": "bad level", "pro_config": pro, "test_config": test})

    assert r.status == 400
    assert r.error["details"]["errors"][0]["loc"] == ["test_config", "consistency_level"]


def test_unknown_config_group_is_404(api):
    r = api.post("/api/query", {"config_group_id": 987654321, "values": ["1"]})

    assert r.status == 404


def test_viewer_may_not_run_a_comparison(api, keys, configs):
    r = api.as_key(keys["viewer"]).post("/api/query", {})

    assert r.status == 403
