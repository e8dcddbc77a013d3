"""Comparisons in the browser: a Redis comparison between two loopback
redis-servers, its differences with filters, config groups, an async run
with progress and the jobs page, and the history entry with its logs."""
from __future__ import annotations

import json
import uuid

import pytest

from tests.compare import redis_servers as rs


@pytest.fixture(scope="module")
def redis_pair():
    a, b = rs.start_server(), rs.start_server()
    yield a, b
    a.stop()
    b.stop()


@pytest.fixture
def dataset(redis_pair):
    a, b = redis_pair
    ca, cb = a.client(), b.client()
    ca.flushall(); cb.flushall()
    p = f"c{uuid.uuid4().hex[:4]}:"
    for c in (ca, cb):
        c.set(p + "same", "v1")
        c.hset(p + "hash", mapping={"f1": "1", "f2": "2"})
    ca.set(p + "json", json.dumps({"name": "John", "age": 25}))
    cb.set(p + "json", json.dumps({"age": 26, "name": "John"}))
    ca.set(p + "only1", "x")
    cb.rpush(p + "list", "a", "b")
    ca.rpush(p + "list", "a", "c")
    keys = [p + k for k in ("same", "hash", "json", "only1", "list")]
    yield {"a": a, "b": b, "prefix": p, "keys": keys}
    ca.flushall(); cb.flushall()


def _fill_redis_form(b, data, name):
    b.go("#/compare")
    b.find("#redis-form")
    b.fill("#cluster1-nodes", f"127.0.0.1:{data['a'].port}")
    b.fill("#cluster2-nodes", f"127.0.0.1:{data['b'].port}")
    b.choose("#redis-mode", "specified")
    b.fill("#redis-keys", "\n".join(data["keys"]))
    b.fill("#redis-run-name", name)


def test_run_a_redis_comparison_and_open_its_history_entry(browser, keys, dataset):
    b = browser
    b.sign_in(keys["operator"])
    name = f"console redis {uuid.uuid4().hex[:6]}"
    _fill_redis_form(b, dataset, name)
    b.click("#redis-run")
    cards = b.find("#compare-cards", timeout=30)
    assert cards.find_element("css selector", ".card .v").text == "5"        # total keys
    diff_rows = b.find_all("#diff-table tbody tr")
    assert len(diff_rows) == 3                                              # json age, list member, only1 missing
    assert dataset["prefix"] + "json" in b.find("#diff-table").text
    assert "missing in cluster2 (1)" in b.find("[data-testid=compare-result]").text.lower()
    assert b.find_all("#compare-recommendations li")
    b.shot("redis-result")

    # filters on the differences table
    b.fill("#diff-filter-text", "list")
    b.wait(lambda: len(b.find_all("#diff-table tbody tr")) == 1, what="one row after the text filter")
    b.fill("#diff-filter-text", "")
    b.choose("#diff-filter-kind", "missing")
    b.wait(lambda: len(b.find_all("#diff-table tbody tr")) == 1
           and dataset["prefix"] + "only1" in b.find("#diff-table tbody").text, what="one missing key")
    b.choose("#diff-filter-kind", "")
    b.choose("#diff-filter-cat", "list")
    b.wait(lambda: len(b.find_all("#diff-table tbody tr")) == 1
           and dataset["prefix"] + "list" in b.find("#diff-table tbody").text, what="one list difference")

    # the saved history entry: detail, results and logs
    b.click("#result-history-link")
    b.wait_text("#history-title", name)
    b.find("#diff-table")
    logs = b.find("#history-logs")
    b.wait(lambda: "INFO" in logs.text, what="INFO logs")
    assert "ERROR 0" in logs.text

    # and it is listed in the history
    b.go("#/history")
    b.choose("#history-type", "redis")
    row = b.wait_text("#history-list tbody tr", name)
    row.click()
    b.wait_text("#history-title", name)


def test_save_and_load_a_redis_config_group(browser, keys, dataset):
    b = browser
    b.sign_in(keys["operator"])
    _fill_redis_form(b, dataset, "unused")
    group = f"console group {uuid.uuid4().hex[:6]}"
    b.fill("#redis-group-name", group)
    b.click("#redis-group-save")
    b.wait(lambda: group in b.find("#redis-group").text, what="the group in the picker")
    b.fill("#cluster1-nodes", "10.9.9.9:1")
    b.fill("#redis-keys", "")
    b.choose("#redis-group", text=group)
    b.click("#redis-group-load")
    b.wait(lambda: b.find("#cluster1-nodes").get_attribute("value") == f"127.0.0.1:{dataset['a'].port}", what="nodes restored")
    assert b.find("#redis-keys").get_attribute("value").split("\n") == dataset["keys"]


def test_an_async_redis_comparison_shows_progress_and_the_job(browser, keys, dataset):
    b = browser
    b.sign_in(keys["operator"])
    name = f"console async {uuid.uuid4().hex[:6]}"
    _fill_redis_form(b, dataset, name)
    b.click("#redis-async")
    b.click("#redis-run")
    b.find("#compare-progress", timeout=10)
    cards = b.find("#compare-cards", timeout=60)
    assert cards.find_element("css selector", ".card .v").text == "5"
    assert len(b.find_all("#diff-table tbody tr")) == 3
    b.go("#/jobs")
    b.choose("#jobs-status", "succeeded")
    b.wait(lambda: any(r.get_attribute("data-status") == "succeeded" and "compare.redis" in r.text
                       for r in b.find_all("#jobs-list tbody tr")), what="the job listed as succeeded")


@pytest.fixture(scope="module")
def cql_pair():
    from tests.cqlserver import CqlTestServer
    columns = {"user_id": "int", "name": "text", "email": "text"}
    servers = {}
    for side, ks, pw in (("pro", "production_ks", "pro-pw"), ("test", "test_ks", "test-pw")):
        srv = CqlTestServer(username="cassandra", password=pw, cluster_name=f"{side}-cluster")
        srv.create_table(ks, "user_data", columns, primary_key=["user_id"])
        rows = [{"user_id": 1001, "name": "User1", "email": f"user1@{side}.com"},
                {"user_id": 1002, "name": "User2", "email": "user2@example.com"}]
        if side == "pro":
            rows.append({"user_id": 1003, "name": "User3", "email": "user3@example.com"})
        srv.insert_many(ks, "user_data", rows)
        srv.start()
        servers[side] = (srv, ks, pw)
    yield servers
    from chalicelib.compare.cassandra import sessions
    sessions.close_all()
    for srv, _, _ in servers.values():
        srv.stop()


def test_run_a_cassandra_single_table_comparison(browser, keys, cql_pair):
    b = browser
    b.sign_in(keys["operator"])
    b.go("#/compare")
    b.click('.tabs button[data-tab="cassandra"]')
    b.find("#cassandra-form")
    for side in ("pro", "test"):
        srv, ks, pw = cql_pair[side]
        pre = f"#cassandra-form input[name=cassandra-{side}_"
        b.fill(pre + "cluster_name]", srv.catalog.cluster_name)
        b.fill(pre + "datacenter]", "datacenter1")
        b.fill(pre + "hosts]", srv.host)
        b.fill(pre + "port]", str(srv.port))
        b.fill(pre + "username]", "cassandra")
        b.fill(pre + "password]", pw)
        b.fill(pre + "keyspace]", ks)
        b.fill(pre + "table]", "user_data")
    b.fill("#cassandra-keys", "user_id")
    b.fill("#cassandra-values", "1001\n1002\n1003")
    b.fill("#cassandra-run-name", f"console cassandra {uuid.uuid4().hex[:6]}")
    b.click("#cassandra-run")
    cards = b.find("#compare-cards", timeout=60)
    assert cards.find_element("css selector", ".card .v").text == "3"
    b.wait_text("#diff-table tbody", "email")
    text = b.find("[data-testid=compare-result]").text
    assert "user1@pro.com" in text and "user1@test.com" in text
    assert "Missing in test (1)" in text
    raw = b.find("[data-testid=compare-result]").get_attribute("textContent")  # the raw answer too
    assert "pro-pw" not in raw and "test-pw" not in raw


def test_differing_fields_are_highlighted_and_a_key_opens_side_by_side(browser, keys, dataset):
    b = browser
    b.sign_in(keys["operator"])
    _fill_redis_form(b, dataset, f"console diff {uuid.uuid4().hex[:6]}")
    b.click("#redis-run")
    b.find("#compare-cards", timeout=30)
    key = dataset["prefix"] + "json"
    row = b.wait_text("#diff-table tbody tr", key)
    marked = row.find_elements("css selector", "mark.diff-field")
    assert {m.get_attribute("data-field") for m in marked} == {"age"}   # name is equal (only its position moved)
    row.find_element("css selector", f'button[data-diff-key="{key}"]').click()
    diff = b.find("#diff-side [data-testid=json-diff]")
    left = diff.find_element("css selector", '[data-side="left"]')
    right = diff.find_element("css selector", '[data-side="right"]')
    assert [e.text.strip() for e in left.find_elements("css selector", ".dl.changed")] == ['"age": 25,']
    assert [e.text.strip() for e in right.find_elements("css selector", ".dl.changed")] == ['"age": 26,']
    b.shot("compare-side-by-side")
