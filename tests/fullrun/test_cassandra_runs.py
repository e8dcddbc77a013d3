"""Whole-table Cassandra runs: token ranges of the ring, rows compared per
range on two CQL test servers (production and test), driven through the API
with jobs in process."""
from __future__ import annotations

import json

import pytest

from tests.cqlserver import CqlTestServer
from tests.fullrun.helpers import all_differences, cql_config, wait_state

PASSWORD = "pro-Secret-9"


def _servers():
    pro = CqlTestServer(username="cassandra", password=PASSWORD, cluster_name="production-cluster")
    test = CqlTestServer(cluster_name="test-cluster")
    for s in (pro, test):
        s.create_table("ks", "users", {"user_id": "int", "name": "text", "email": "text", "profile": "text"},
                       primary_key=["user_id"])
        s.create_table("ks", "events", {"tenant": "text", "day": "int", "seq": "int", "payload": "text"},
                       primary_key=[["tenant", "day"], "seq"])
    return pro, test


def _plant(pro: CqlTestServer, test: CqlTestServer) -> dict:
    """Rows of both tables with planted differences; {(table, key json, field): (type, missing_in)}."""
    expected = {}
    for i in range(400):
        row = {"user_id": i, "name": f"user {i}", "email": f"u{i}@x.org", "profile": '{"a": 1, "b": [1, 2]}'}
        pro.insert("ks", "users", row)
        other = dict(row)
        k = json.dumps({"user_id": i})
        if i % 50 == 3:
            other["email"] = f"changed{i}@x.org"
            expected[("users", k, "email")] = ("value_mismatch", None)
        if i % 50 == 4:
            other["profile"] = '{"a": 2, "b": [1, 2]}'
            other["name"] = "renamed"
            expected[("users", k, "profile")] = ("value_mismatch", None)
            expected[("users", k, "name")] = ("value_mismatch", None)
        if i % 50 == 5:
            other["profile"] = '{"b": [1, 2], "a": 1}'   # same JSON, other key order: formatting only
            expected[("users", k, "profile")] = ("format_only", None)
        if i % 50 == 6:
            expected[("users", k, None)] = ("missing", "test")
            continue
        test.insert("ks", "users", other)
    for i in range(400, 408):
        test.insert("ks", "users", {"user_id": i, "name": "new", "email": "n@x.org", "profile": "{}"})
        expected[("users", json.dumps({"user_id": i}), None)] = ("missing", "pro")
    for tenant in ("acme", "globex"):
        for day in range(3):
            wide = 300 if (tenant, day) == ("acme", 1) else 20
            for seq in range(wide):
                row = {"tenant": tenant, "day": day, "seq": seq, "payload": f"{tenant}-{day}-{seq}"}
                pro.insert("ks", "events", row)
                k = json.dumps({"tenant": tenant, "day": day, "seq": seq})
                if (tenant, day) == ("acme", 1) and seq == 250:
                    expected[("events", k, None)] = ("missing", "test")
                    continue
                if (tenant, day, seq) == ("globex", 2, 7):
                    row = dict(row, payload="other")
                    expected[("events", k, "payload")] = ("value_mismatch", None)
                test.insert("ks", "events", row)
    return expected


@pytest.fixture(scope="module")
def cql_envs():
    pro, test = _servers()
    expected = _plant(pro, test)
    pro.start()
    test.start()
    yield pro, test, expected
    pro.stop()
    test.stop()


def _normal(expected: dict, table: str) -> dict:
    return {(t, json.dumps(json.loads(k), sort_keys=True), f): v for (t, k, f), v in expected.items() if t == table}


def _run(api, inline_queue, pro, test, table: str, **kw) -> dict:
    body = {"engine": "cassandra", "pro_config": cql_config(pro, table, PASSWORD),
            "test_config": cql_config(test, table),
            "split_count": 8, "page_size": 40, "step_keys": 30, "slice_seconds": 0.5}
    body.update(kw)
    r = api.post("/api/compare-runs", body)
    assert r.status == 202, r.json
    assert inline_queue.wait_idle(120)
    return wait_state(api, r.data["id"])


@pytest.mark.parametrize("table", ["users", "events"])
def test_a_table_split_in_token_ranges_reports_every_planted_difference_and_nothing_else(api, inline_queue,
                                                                                        cql_envs, table):
    pro, test, expected = cql_envs
    run = _run(api, inline_queue, pro, test, table)
    assert run["state"] == "completed", run
    assert run["progress"]["segments"]["total"] >= 8
    got = {(table, json.dumps(json.loads(d["key"]), sort_keys=True), d["field"]): (d["difference_type"],
                                                                                    d["missing_in"])
           for d in all_differences(api, run["id"])}
    assert got == _normal(expected, table)
    rows = pro.row_count("ks", table) + sum(1 for (t, _, _), v in expected.items() if t == table and v[1] == "pro")
    assert run["progress"]["keys_compared"] == rows
    counts = run["summary"]["counts"]
    assert counts["total_keys"] == rows
    assert counts["missing_in_test"] == sum(1 for (t, _, _), v in expected.items() if t == table and v[1] == "test")
    assert counts["format_only_keys"] == sum(1 for (t, _, _), v in expected.items()
                                             if t == table and v[0] == "format_only")
    assert run["progress"]["percent"] == 100.0


def test_field_analysis_and_exclusions_follow_the_request(api, inline_queue, cql_envs):
    pro, test, expected = cql_envs
    run = _run(api, inline_queue, pro, test, "users", exclude_fields=["name"])
    fields = run["summary"]["field_analysis"]
    assert set(fields) == {"email", "profile"}  # formatting-only differences are not field differences
    assert fields["email"]["diff_count"] == sum(1 for (t, _, f) in expected if t == "users" and f == "email")
    assert run["public_config"]["pro_config"]["password"] == "********"


def test_a_cassandra_run_with_a_stopped_test_side_pauses_and_names_it(api, inline_queue, cql_envs):
    pro, _, _ = cql_envs
    down = CqlTestServer(cluster_name="down-cluster")
    down.create_table("ks", "users", {"user_id": "int", "name": "text", "email": "text", "profile": "text"},
                      primary_key=["user_id"])
    down.start()
    body = {"engine": "cassandra", "pro_config": cql_config(pro, "users", PASSWORD),
            "test_config": cql_config(down, "users"),
            "split_count": 4, "page_size": 40, "step_keys": 30, "max_ops_per_second": {"pro": 200}}
    r = api.post("/api/compare-runs", body)
    assert r.status == 202, r.json
    down.stop()
    assert inline_queue.wait_idle(120)
    run = api.get(f"/api/compare-runs/{r.data['id']}").data
    assert run["state"] == "paused", run
    assert "test" in run["state_reason"]


def test_a_cancelled_cassandra_run_resumes_to_the_same_differences(api, inline_queue, cql_envs):
    pro, test, expected = cql_envs
    body = {"engine": "cassandra", "pro_config": cql_config(pro, "users", PASSWORD),
            "test_config": cql_config(test, "users"),
            "split_count": 8, "page_size": 20, "step_keys": 20, "max_ops_per_second": 400}
    run_id = api.post("/api/compare-runs", body).data["id"]
    assert api.post(f"/api/compare-runs/{run_id}/cancel").status == 200
    assert inline_queue.wait_idle(120)
    assert api.get(f"/api/compare-runs/{run_id}").data["progress"]["segments"]["done"] < 8
    assert api.post(f"/api/compare-runs/{run_id}/resume").status == 200
    assert inline_queue.wait_idle(120)
    run = wait_state(api, run_id)
    assert run["state"] == "completed"
    got = {("users", json.dumps(json.loads(d["key"]), sort_keys=True), d["field"]): (d["difference_type"],
                                                                                      d["missing_in"])
           for d in all_differences(api, run_id)}
    assert got == _normal(expected, "users")
    assert run["progress"]["keys_compared"] == pro.row_count("ks", "users") + 8
