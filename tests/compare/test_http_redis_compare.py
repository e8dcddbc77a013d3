"""The Redis comparison through the real HTTP server, as the weakest role that may run it."""
from __future__ import annotations

import pytest

from tests.compare import redis_servers as rs


@pytest.fixture(scope="module")
def operator(live_server):
    return live_server.key("operator")


def test_an_operator_compares_two_redis_servers_with_binary_values_and_reads_the_saved_history(
        live_server, operator, cfg1, cfg2, env1, env2):
    env1.set("msgpack:1", b"\x82\xa1a\x00\xff")
    env2.set("msgpack:1", b"\x82\xa1a\x00\xfe")
    env1.set(b"bin\x00key", "same")
    env2.set(b"bin\x00key", "same")
    env1.set("doc", '{"a":1,"b":2}')
    env2.set("doc", '{"b":2,"a":1}')
    body = {"cluster1_config": cfg1, "cluster2_config": cfg2,
            "keys": ["msgpack:1", {"base64": "YmluAGtleQ=="}, "doc", "gone"]}

    r = live_server.call("POST", "/api/redis/compare", body, key=operator)

    assert r.status_code == 200, r.text
    data = r.json()["data"]
    diff = data["differences"][0]
    assert diff["key"] == "msgpack:1" and diff["cluster1_value"] == {"base64": "gqFhAP8="}
    assert [i["key"] for i in data["identical"]] == [{"base64": "YmluAGtleQ=="}]
    assert [f["key"] for f in data["format_only"]] == ["doc"]
    assert data["missing_in_both"] == ["gone"]
    counts = data["summary"]["counts"]
    assert (counts["identical_keys"], counts["different_keys"], counts["format_only_keys"],
            counts["missing_in_both"]) == (1, 1, 1, 1)
    assert rs.PASSWORD not in r.text

    saved = live_server.call("GET", f"/api/query-history/{data['history_id']}/results", key=operator)
    assert saved.status_code == 200
    assert saved.json()["data"]["differences"][0]["cluster1_value"] == {"base64": "gqFhAP8="}


def test_a_viewer_may_read_history_but_not_run_a_comparison(live_server, cfg1, cfg2, env1, env2):
    viewer = live_server.key("viewer")

    run = live_server.call("POST", "/api/redis/compare",
                           {"cluster1_config": cfg1, "cluster2_config": cfg2, "keys": ["k"]}, key=viewer)
    listing = live_server.call("GET", "/api/query-history", key=viewer)

    assert run.status_code == 403 and run.json()["error"]["code"] == "PERMISSION_DENIED"
    assert listing.status_code == 200


def test_wrong_password_and_unreachable_server_get_advice_that_matches(live_server, operator, cfg1, cfg2):
    bad_password = dict(cfg2, password="Not-The-Pa55")
    down = dict(cfg2, nodes=[{"host": "127.0.0.1", "port": rs.free_port()}])

    auth = live_server.call("POST", "/api/redis/compare",
                            {"cluster1_config": cfg1, "cluster2_config": bad_password, "keys": ["k"]}, key=operator)
    gone = live_server.call("POST", "/api/redis/compare",
                            {"cluster1_config": cfg1, "cluster2_config": down, "keys": ["k"]}, key=operator)

    assert auth.json()["error"]["details"]["reason"] == "auth_failed"
    assert any("password" in s for s in auth.json()["error"]["details"]["suggestions"])
    assert gone.json()["error"]["details"]["reason"] == "unreachable"
    assert not any("password" in s for s in gone.json()["error"]["details"]["suggestions"])
    assert "Not-The-Pa55" not in auth.text


def test_a_viewer_pages_config_groups_filtered_by_type_and_the_logs_of_one_run(live_server, operator, cfg1, cfg2,
                                                                                env1, env2):
    viewer = live_server.key("viewer")
    mark = live_server.call("POST", "/api/config-groups", {"name": f"page-c-{id(viewer)}", "pro_config": {},
                                                           "test_config": {}}, key=operator)
    assert mark.status_code == 201, mark.text
    for i in range(2):
        made = live_server.call("POST", "/api/config-groups", {"name": f"page-r{i}-{id(viewer)}",
                                                               "cluster1_config": cfg1, "cluster2_config": cfg2},
                                key=operator)
        assert made.status_code == 201, made.text
    every = live_server.call("GET", "/api/config-groups", key=viewer,
                             params={"group_type": "redis", "limit": 500}).json()["data"]
    redis_total = every["total"]
    assert {g["group_type"] for g in every["items"]} == {"redis"} and len(every["items"]) == redis_total

    first = live_server.call("GET", "/api/config-groups", key=viewer, params={"group_type": "redis", "limit": 1})
    page = first.json()["data"]
    assert first.status_code == 200 and page["total"] == redis_total >= 2
    assert len(page["items"]) == 1 and page["has_more"] is True
    assert page["items"][0]["group_type"] == "redis"

    env1.set("k", "1")
    env2.set("k", "2")
    run = live_server.call("POST", "/api/redis/compare", {"cluster1_config": cfg1, "cluster2_config": cfg2,
                                                          "keys": ["k"]}, key=operator).json()["data"]
    hid = run["history_id"]
    logs = live_server.call("GET", "/api/query-logs", key=viewer, params={"history_id": hid, "limit": 1})
    body = logs.json()["data"]
    assert logs.status_code == 200 and len(body["logs"]) == 1 and body["total"] >= 2 and body["has_more"] is True
    assert {entry["history_id"] for entry in body["logs"]} == {hid}
    none = live_server.call("GET", "/api/query-logs", key=viewer, params={"history_id": hid, "level": "ERROR"})
    assert none.json()["data"] == {"logs": [], "total": 0, "has_more": False}
