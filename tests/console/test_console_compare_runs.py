"""Whole-dataset runs in the browser: started from the Compare section against
two loopback redis-servers with planted differences, followed until they end,
cancelled and resumed with the run's buttons, their differences paged and
filtered, and every difference exported (every page of the export assembled
into one downloaded file). A viewer follows and exports runs but cannot start
or steer one, on a 390 px screen."""
from __future__ import annotations

import csv
import io
import json
import time
import uuid

import pytest

from tests.compare import redis_servers as rs
from tests.compare.conftest import side_config
from tests.fullrun.datasets import plant

TERMINAL = ("completed", "failed", "cancelled", "paused")


@pytest.fixture(scope="module")
def redis_pair():
    a, b = rs.start_server(), rs.start_server()
    yield a, b
    a.stop()
    b.stop()


@pytest.fixture(scope="module")
def planted(redis_pair):
    """Both servers loaded (about 100 keys per side, 40 differences);
    {key: (difference_type, missing_in)} of what a run must report."""
    a, b = redis_pair
    ca, cb = a.client(), b.client()
    ca.flushall()
    cb.flushall()
    expected = plant(ca, cb, n_identical=60, n_per_kind=2)
    yield expected
    ca.flushall()
    cb.flushall()


def _start_from_the_page(b, redis_pair, name: str, max_ops: str = "") -> str:
    a, c = redis_pair
    b.go("#/compare")
    b.click("#compare-runs-link")
    b.wait_text("#main h1", "Whole-dataset runs")
    b.find("#run-redis-form")
    b.fill("#run1-nodes", f"127.0.0.1:{a.port}")
    b.fill("#run2-nodes", f"127.0.0.1:{c.port}")
    b.fill("#redis-run-name", name)
    if not b.find("#run-ttl").is_selected():
        b.click("#run-ttl")
    b.fill("#run-recheck", "0")
    if max_ops:
        b.fill("#redis-run-max-ops", max_ops)
    b.click("#run-redis-form details > summary")
    b.fill("#redis-run-step", "20")
    b.fill("#redis-run-slice", "0.5")
    b.click("#run-start")
    b.wait_text("#run-title", name, timeout=30)
    return b.js("return location.hash").rsplit("/", 1)[1]


def _wait_state(b, states, timeout: float = 60) -> str:
    return b.wait(lambda: (s := b.find("#run-state").get_attribute("data-state")) in states and s, timeout,
                  f"run state in {states}")


def _listed(b) -> dict:
    rows = b.find_all("#run-diffs tbody tr[data-key]")
    return {r.get_attribute("data-key"): r.get_attribute("data-type") for r in rows}


def _cards(b) -> dict:
    cards = b.find_all("#run-cards .card")
    return {c.get_attribute("data-k"): c.find_element("css selector", ".v").text for c in cards}


def _all_pages(b) -> dict:
    """Every listed difference, walking the pager from the first page."""
    while b.find("#run-diff-prev").is_enabled():
        b.click("#run-diff-prev")
        b.wait(lambda: b.find("#run-diff-count").text.startswith("1–") or b.find("#run-diff-count").text == "0 of 0",
               what="the first page")
    out = _listed(b)
    while b.find("#run-diff-next").is_enabled():
        first = b.find("#run-diff-count").text
        b.click("#run-diff-next")
        b.wait(lambda before=first: b.find("#run-diff-count").text != before, what="the next page")
        page = _listed(b)
        assert not set(page) & set(out)
        out.update(page)
    return out


def _downloaded(directory, suffix: str, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in directory.iterdir() if p.name.endswith(suffix)]
        if done:
            return done[0].read_text(encoding="utf-8")
        time.sleep(0.1)
    raise TimeoutError(f"no *{suffix} downloaded into {directory}: {[p.name for p in directory.iterdir()]}")


def test_an_operator_starts_a_run_from_the_page_and_sees_every_planted_difference_then_exports_them(
        browser, keys, redis_pair, planted, tmp_path):
    b = browser
    b.driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    b.sign_in(keys["operator"])
    name = f"console run {uuid.uuid4().hex[:6]}"
    _start_from_the_page(b, redis_pair, name)
    assert _wait_state(b, TERMINAL) == "completed"
    b.wait(lambda: b.find("#run-diff-count").text.endswith(f"of {len(planted)}"), what="every difference counted")
    assert len(_listed(b)) == 25 and b.find("#run-diff-count").text == f"1–25 of {len(planted)}"
    assert _all_pages(b) == {k: t for k, (t, _) in planted.items()}
    cards = _cards(b)
    assert cards["segments"] == "2 / 2" and cards["differences"] == str(len(planted))
    assert b.find_all("#run-recommendations li")
    assert not b.find_all("#run-cancel") and not b.find_all("#run-resume")   # a completed run is not steered
    b.shot("compare-run")

    # the type filter goes to the server
    b.choose("#run-diff-type", "missing")
    only_missing = {k for k, (t, _) in planted.items() if t == "missing"}
    b.wait(lambda: set(_listed(b)) == only_missing, what="only the missing keys")
    b.choose("#run-diff-type", "")
    b.wait(lambda: b.find("#run-diff-count").text == f"1–25 of {len(planted)}", what="every difference again")

    # export: 7 rows per request -> several pages, one CSV file with one header
    b.choose("#run-export-format", "csv")
    b.fill("#run-export-limit", "7")
    b.click("#run-export")
    status = b.wait_text("#run-export-status", "Ready", timeout=30)
    pages = -(-len(planted) // 7)
    assert status.get_attribute("data-pages") == str(pages)
    rows = list(csv.DictReader(io.StringIO(_downloaded(tmp_path, ".csv"))))
    assert {r["key"]: r["difference_type"] for r in rows} == {k: t for k, (t, _) in planted.items()}
    assert {r["key"]: r["missing_in"] or None for r in rows} == {k: m for k, (_, m) in planted.items()}

    # JSON Lines of one type
    b.choose("#run-diff-type", "value_mismatch")
    b.choose("#run-export-format", "jsonl")
    b.click("#run-export")
    b.wait(lambda: b.find("#run-export-status").get_attribute("data-filename").endswith("value_mismatch.jsonl"),
           what="the jsonl export")
    lines = [json.loads(x) for x in _downloaded(tmp_path, "value_mismatch.jsonl").splitlines() if x]
    assert {x["key"] for x in lines} == {k for k, (t, _) in planted.items() if t == "value_mismatch"}

    # listed on the runs page
    b.click('a[href="#/compare-runs"]')
    row = b.wait_text("#runs-list tbody tr", name)
    assert row.get_attribute("data-state") == "completed"


def test_a_run_is_cancelled_and_resumed_with_its_buttons_and_finishes_with_the_same_differences(
        browser, keys, redis_pair, planted):
    from selenium.webdriver.common.keys import Keys
    b = browser
    b.sign_in(keys["operator"])
    _start_from_the_page(b, redis_pair, f"console slow run {uuid.uuid4().hex[:6]}", max_ops="120")
    assert _wait_state(b, ("running",) + TERMINAL) == "running"
    b.wait(lambda: (c := _cards(b))["compared"] not in ("0", "—") and c["eta"] != "—" and c["rate"] not in ("0", "—"),
           timeout=8, what="progress, rate and ETA while it runs")
    b.click("#run-cancel")
    assert _wait_state(b, ("cancelled", "completed")) == "cancelled"
    assert "cancelled by a user" in b.find("#run-reason").text
    assert b.js("return document.activeElement.id") == "run-resume"   # focus moves to the next action
    b.driver.switch_to.active_element.send_keys(Keys.ENTER)           # resume from the keyboard
    assert _wait_state(b, ("running", "completed")) in ("running", "completed")
    assert _wait_state(b, TERMINAL, timeout=60) == "completed"
    b.wait(lambda: b.find("#run-diff-count").text.endswith(f"of {len(planted)}"), what="every difference once")
    assert _all_pages(b) == {k: t for k, (t, _) in planted.items()}


def test_a_viewer_follows_and_pages_a_run_on_a_narrow_screen_but_cannot_start_or_steer_it(
        narrow_browser, keys, live_server, redis_pair, planted):
    a, c = redis_pair
    operator = live_server.api(keys["operator"])
    name = f"api run {uuid.uuid4().hex[:6]}"
    r = operator.post("/api/compare-runs", {"cluster1_config": side_config(a, "source"),
                                            "cluster2_config": side_config(c, "target"),
                                            "compare_ttl": True, "recheck_rounds": 0, "name": name})
    assert r.status == 202, r.json
    b = narrow_browser
    b.sign_in(keys["viewer"])
    b.go("#/compare-runs")
    b.wait_text("#main h1", "Whole-dataset runs")
    assert b.find("#run-start-denied")
    assert not b.find_all("#run-start") and not b.find_all("#run-redis-form")
    b.click_text("#runs-list tbody tr a", name)
    b.wait_text("#run-title", name)
    assert _wait_state(b, TERMINAL) == "completed"
    assert not b.find_all("#run-cancel") and not b.find_all("#run-resume")
    b.wait(lambda: b.find("#run-diff-count").text == f"1–{min(25, len(planted))} of {len(planted)}",
           what="the first page")
    assert b.find("#run-export")                                   # exporting is a viewer's right
    b.shot("compare-run-narrow")
    assert b.js("return document.documentElement.scrollWidth") <= b.js("return document.documentElement.clientWidth")
    b.go("#/compare-runs")
    b.wait_text("#runs-list tbody tr", name)
    assert b.js("return document.documentElement.scrollWidth") <= b.js("return document.documentElement.clientWidth")


def test_a_run_started_from_a_saved_config_group_compares_the_groups_clusters(browser, keys, live_server,
                                                                             redis_pair, planted):
    a, c = redis_pair
    group = f"runs group {uuid.uuid4().hex[:6]}"
    r = live_server.api(keys["operator"]).post("/api/config-groups", {
        "name": group, "group_type": "redis", "cluster1_config": side_config(a, "source"),
        "cluster2_config": side_config(c, "target")})
    assert r.status == 201, r.json
    b = browser
    b.sign_in(keys["operator"])
    b.go("#/compare-runs")
    b.find("#run-redis-form")
    b.fill("#run1-nodes", "10.9.9.9:1")                      # ignored: the group's clusters are used
    b.choose("#run-redis-group", text=group)
    b.wait_gone("#run1-nodes")
    if b.find("#run-ttl").is_selected():
        b.click("#run-ttl")                                    # off: TTL differences are not reported
    b.fill("#redis-run-name", group)
    b.click("#run-start")
    b.wait_text("#run-title", group, timeout=30)
    assert _wait_state(b, TERMINAL) == "completed"
    expected = {k: t for k, (t, _) in planted.items() if t != "ttl_mismatch"}
    b.wait(lambda: b.find("#run-diff-count").text.endswith(f"of {len(expected)}"), what="the differences")
    assert _all_pages(b) == expected


@pytest.fixture(scope="module")
def cql_tables():
    from tests.cqlserver import CqlTestServer
    servers, expected = {}, {}
    for side in ("pro", "test"):
        srv = CqlTestServer(username="cassandra", password=f"{side}-pw", cluster_name=f"{side}-cluster")
        srv.create_table("ks", "users", {"user_id": "int", "name": "text", "email": "text"}, primary_key=["user_id"])
        servers[side] = srv
    for i in range(40):
        row = {"user_id": i, "name": f"user {i}", "email": f"u{i}@x.org"}
        if i != 7:
            servers["pro"].insert("ks", "users", row)
        else:
            expected[json.dumps({"user_id": i})] = ("missing", "pro")
        if i == 5:
            expected[json.dumps({"user_id": i})] = ("missing", "test")
            continue
        if i == 3:
            row = dict(row, email="changed@x.org")
            expected[json.dumps({"user_id": i})] = ("value_mismatch", None)
        servers["test"].insert("ks", "users", row)
    for srv in servers.values():
        srv.start()
    yield servers, expected
    from chalicelib.compare.cassandra import sessions
    sessions.close_all()
    for srv in servers.values():
        srv.stop()


def test_a_cassandra_table_run_is_started_from_its_tab_and_lists_the_rows_that_differ(browser, keys, cql_tables,
                                                                                       api):
    servers, expected = cql_tables
    b = browser
    b.sign_in(keys["operator"])
    b.go("#/compare-runs")
    b.click('#run-engine-tabs [data-tab="cassandra"]')
    b.find("#run-cassandra-form")
    for side, srv in servers.items():
        pre = f"#run-cassandra-form input[name=run-{side}_"
        b.fill(pre + "cluster_name]", srv.catalog.cluster_name)
        b.fill(pre + "datacenter]", "datacenter1")
        b.fill(pre + "hosts]", srv.host)
        b.fill(pre + "port]", str(srv.port))
        b.fill(pre + "username]", "cassandra")
        b.fill(pre + "password]", f"{side}-pw")
        b.fill(pre + "keyspace]", "ks")
        b.fill(pre + "table]", "users")
    name = f"console cassandra run {uuid.uuid4().hex[:6]}"
    b.fill("#cassandra-run-name", name)
    b.click("#run-cassandra-form details > summary")
    b.fill("#run-cass-split", "4")
    b.fill("#cassandra-run-step", "10")
    b.fill("#run-cass-recheck", "2")
    b.click("#run-start")
    b.wait_text("#run-title", name, timeout=30)
    assert _wait_state(b, TERMINAL) == "completed"
    run = next(r for r in api.get("/api/compare-runs?engine=cassandra&limit=100").data["items"] if r["name"] == name)
    assert run["public_config"]["recheck_rounds"] == 2
    b.wait(lambda: b.find("#run-diff-count").text.endswith(f"of {len(expected)}"), what="the differing rows")
    listed = {json.dumps(json.loads(k), sort_keys=True): t for k, t in _listed(b).items()}
    assert listed == {k: t for k, (t, _) in expected.items()}
    assert "changed@x.org" in b.find("#run-diffs").text
    page = b.find("#main").get_attribute("textContent")
    assert "pro-pw" not in page and "test-pw" not in page


def test_a_run_the_server_refuses_shows_the_reason_on_the_form_and_stays_on_it(browser, keys):
    b = browser
    # an unreachable side is a dependency's fault: 503 (the test below)
    b.allow_console(r"api/compare-runs - Failed to load resource: the server responded with a status of 503")
    b.sign_in(keys["operator"])
    b.go("#/compare-runs")
    b.find("#run-redis-form")
    b.fill("#run1-nodes", "127.0.0.1:1")                       # nothing listens there: the side is down
    b.fill("#run2-nodes", "127.0.0.1:1")
    b.click("#run-start")
    box = b.find("#run-start-result .error-box", timeout=30)
    assert "Redis" in box.text
    assert b.js("return location.hash") == "#/compare-runs"
    assert not b.find_all("#runs-list tbody tr[data-run-id]") or "127.0.0.1:1" not in b.find("#runs-list").text


def test_starting_a_run_against_an_unreachable_side_is_a_503_with_retry_after(live_server, keys):
    down = {"name": "down", "nodes": [{"host": "127.0.0.1", "port": 1}]}
    r = live_server.call("POST", "/api/compare-runs", {"cluster1_config": down, "cluster2_config": down},
                         key=keys["operator"])
    assert r.json()["error"]["code"] == "CONNECTION_ERROR"
    assert r.status_code == 503 and r.headers.get("Retry-After")
