"""The compare-runs API around a run: export pages, listing, cancel and
resume, bad input, roles, and the journal's step fence."""
from __future__ import annotations

import csv
import io
import json

import pytest

from tests.fullrun.helpers import all_differences, found, run_body, wait_state


def _export(api, run_id: str, fmt: str, limit: int) -> tuple[list, int]:
    pages, after, chunks = 0, 0, []
    while True:
        r = api.get(f"/api/compare-runs/{run_id}/export?format={fmt}&limit={limit}&after={after}")
        assert r.status == 200
        pages += 1
        chunks.append(r.body.decode("utf-8"))
        nxt = r.headers.get("x-next-after")
        if nxt is None:
            assert "link" not in r.headers
            return chunks, pages
        assert f"after={nxt}" in r.headers["link"]
        after = int(nxt)


@pytest.mark.parametrize("fmt, content_type", [("csv", "text/csv"), ("jsonl", "application/x-ndjson")])
def test_export_pages_read_back_every_difference_with_its_values(api, inline_queue, cfg1, cfg2, planted, fmt,
                                                                 content_type):
    run_id = api.post("/api/compare-runs", run_body(cfg1, cfg2)).data["id"]
    assert inline_queue.wait_idle(60)
    listed = {d["key"]: d for d in all_differences(api, run_id)}
    chunks, pages = _export(api, run_id, fmt, limit=7)
    assert pages == -(-len(planted) // 7)
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO("".join(chunks))))
        records = [{**r, "detail": json.loads(r["detail"])} for r in rows]
    else:
        records = [json.loads(line) for line in "".join(chunks).splitlines()]
    assert len(records) == len(planted)
    assert {r["key"]: (r["difference_type"], r["missing_in"] or None) for r in records} == planted
    for r in records:
        assert r["detail"] == listed[r["key"]]["detail"]
    assert api.get(f"/api/compare-runs/{run_id}/export?format={fmt}").headers["content-type"].startswith(content_type)


def test_a_cancelled_run_stops_and_resume_finishes_it_with_every_difference(api, inline_queue, cfg1, cfg2, env1,
                                                                            env2):
    from tests.fullrun.datasets import plant
    expected = plant(env1, env2, n_identical=1500)
    run_id = api.post("/api/compare-runs", run_body(cfg1, cfg2, max_ops_per_second=1000)).data["id"]
    r = api.post(f"/api/compare-runs/{run_id}/cancel")
    assert r.status == 200 and r.data["state"] == "cancelled"
    assert inline_queue.wait_idle(60)
    stopped = api.get(f"/api/compare-runs/{run_id}").data
    assert stopped["state"] == "cancelled" and stopped["progress"]["segments"]["done"] < 2
    assert api.post(f"/api/compare-runs/{run_id}/cancel").status == 409
    r = api.post(f"/api/compare-runs/{run_id}/resume")
    assert r.status == 200 and r.data["state"] == "running"
    assert inline_queue.wait_idle(60)
    run = wait_state(api, run_id)
    assert run["state"] == "completed"
    assert found(all_differences(api, run_id)) == expected
    assert api.post(f"/api/compare-runs/{run_id}/resume").status == 409
    listed = api.get("/api/compare-runs?state=completed&limit=500").data
    assert run_id in [x["id"] for x in listed["items"]]


def test_a_run_from_a_config_group_uses_its_stored_configs(api, inline_queue, cfg1, cfg2, planted):
    import uuid
    g = api.post("/api/config-groups", {"name": f"full-{uuid.uuid4().hex[:6]}", "group_type": "redis",
                                        "cluster1_config": cfg1, "cluster2_config": cfg2})
    assert g.status == 201, g.json
    r = api.post("/api/compare-runs", {"config_group_id": g.data["id"], "recheck_delay_seconds": 0,
                                       "compare_ttl": True})
    assert r.status == 202, r.json
    assert r.data["public_config"]["cluster2_config"]["password"] == "********"
    assert inline_queue.wait_idle(60)
    assert found(all_differences(api, r.data["id"])) == planted


@pytest.mark.parametrize("change, field", [
    ({"engine": "mongodb"}, "engine"),
    ({"engine": "cassandra"}, "pro_config"),
    ({"engine": "cassandra", "pro_config": {"hosts": ["127.0.0.1"], "table": "t"},
      "test_config": {"hosts": ["127.0.0.1"], "table": "t"}}, "keyspace"),
    ({"max_ops_per_second": 0}, "max_ops_per_second"),
    ({"types": ["string", "bitmap"]}, "types"),
    ({"cluster2_config": None}, "cluster2_config"),
    ({"scan_count": 1}, "scan_count"),
])
def test_bad_run_bodies_are_400s_naming_the_field(api, cfg1, cfg2, change, field):
    body = run_body(cfg1, cfg2)
    body.update(change)
    r = api.post("/api/compare-runs", body)
    assert r.status == 400, r.json
    assert field in json.dumps(r.error)


def test_an_unreachable_side_is_refused_when_the_run_is_created_with_a_503_and_retry_after(api, cfg1):
    from tests.compare.redis_servers import free_port
    r = api.post("/api/compare-runs", run_body(cfg1, {"name": "gone", "nodes": [f"127.0.0.1:{free_port()}"],
                                                      "socket_connect_timeout": 0.5}))
    assert r.status == 503 and r.headers["retry-after"] == "1"
    assert r.error["code"] == "CONNECTION_ERROR"
    assert "gone" in r.error["message"]


@pytest.mark.parametrize("path, status", [
    ("/api/compare-runs/00000000-0000-0000-0000-000000000000", 404),
    ("/api/compare-runs/not-a-uuid", 400),
    ("/api/compare-runs/00000000-0000-0000-0000-000000000000/differences", 404),
    ("/api/compare-runs/00000000-0000-0000-0000-000000000000/export", 404),
])
def test_unknown_or_malformed_run_ids(api, path, status):
    assert api.get(path).status == status


def test_a_viewer_watches_runs_but_cannot_start_cancel_or_resume_them(api, keys, inline_queue, cfg1, cfg2, planted):
    viewer = api.as_key(keys["viewer"])
    assert viewer.post("/api/compare-runs", run_body(cfg1, cfg2)).status == 403
    run_id = api.as_key(keys["operator"]).post("/api/compare-runs", run_body(cfg1, cfg2)).data["id"]
    assert inline_queue.wait_idle(60)
    assert viewer.get(f"/api/compare-runs/{run_id}").data["state"] == "completed"
    assert viewer.post(f"/api/compare-runs/{run_id}/cancel").status == 403
    assert viewer.post(f"/api/compare-runs/{run_id}/resume").status == 403
    assert viewer.get(f"/api/compare-runs/{run_id}/export").status == 200


def test_a_step_committed_twice_or_from_an_old_generation_is_counted_once(api, sqs_env, cfg1, cfg2, planted):
    from chalicelib.compare.fullrun import journal
    run_id = api.post("/api/compare-runs", run_body(cfg1, cfg2)).data["id"]  # queued on SQS, no worker
    seg = journal.segments(run_id)[0]
    assert journal.claim_segment(run_id, seg["segment_id"], seg["generation"]) is not None
    diff = [{"key": "k1", "difference_type": "missing", "missing_in": "cluster2", "detail": {"key": "k1"}}]

    def commit(generation, step):
        return journal.commit_step(run_id, seg["segment_id"], generation, step, cursor=17, final=False, scanned=5,
                                   compared=5, identical=4, skipped=0, stats={"notes": {"x": 1}},
                                   differences=diff)

    assert commit(seg["generation"], 0) == (True, 1)
    assert commit(seg["generation"], 0) == (False, 0)       # the same step again (a redelivery)
    assert commit(seg["generation"] - 1, 1) == (False, 0)   # a worker from before a resume
    p = journal.progress(run_id)
    assert (p["keys_compared"], p["identical"], p["differences"], p["steps"]) == (5, 4, 1, 1)
    assert commit(seg["generation"], 1) == (True, 0)        # the next step; the key is already reported
    assert journal.progress(run_id)["differences"] == 1
