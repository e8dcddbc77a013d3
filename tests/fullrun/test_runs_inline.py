"""Whole-dataset Redis runs driven through the API with jobs in process."""
from __future__ import annotations

from tests.fullrun.datasets import union_size
from tests.fullrun.helpers import all_differences, found, run_body


def test_a_run_between_two_standalone_servers_finds_every_planted_difference_and_nothing_else(
        api, inline_queue, cfg1, cfg2, planted, env1, env2):
    r = api.post("/api/compare-runs", run_body(cfg1, cfg2))
    assert r.status == 202, r.json
    run_id = r.data["id"]
    assert r.data["progress"]["segments"]["total"] == 2
    assert inline_queue.wait_idle(60)
    run = api.get(f"/api/compare-runs/{run_id}").data
    assert run["state"] == "completed", run
    diffs = all_differences(api, run_id)
    assert found(diffs) == planted
    union = union_size(env1, env2)
    assert run["progress"]["keys_compared"] == union
    assert run["progress"]["identical"] == union - len(planted)
    counts = run["summary"]["counts"]
    assert counts["total_keys"] == union
    assert counts["missing_in_cluster1"] == sum(1 for v in planted.values() if v[1] == "cluster1")
    assert counts["missing_in_cluster2"] == sum(1 for v in planted.values() if v[1] == "cluster2")
    assert run["summary"]["difference_types"]["ttl_mismatch"] == 2
    assert any("missing in cluster1" in t for t in run["summary"]["recommendations"])


def test_a_cluster_side_is_split_into_one_segment_per_master(api, inline_queue, cfg_cluster, cfg1, cluster, env1):
    from tests.fullrun.datasets import plant
    expected = plant(cluster, env1, n_identical=120, n_per_kind=1)
    r = api.post("/api/compare-runs", run_body(cfg_cluster, cfg1))
    assert r.status == 202, r.json
    assert sorted(s["side"] for s in r.data["segments"]) == ["cluster1"] * 3 + ["cluster2"]
    assert inline_queue.wait_idle(60)
    run = api.get(f"/api/compare-runs/{r.data['id']}").data
    assert run["state"] == "completed", run
    assert found(all_differences(api, run["id"])) == expected


def test_differences_filter_by_type(api, inline_queue, cfg1, cfg2, planted):
    run_id = api.post("/api/compare-runs", run_body(cfg1, cfg2)).data["id"]
    assert inline_queue.wait_idle(60)
    missing = all_differences(api, run_id, difference_type="missing")
    assert {d["key"] for d in missing} == {k for k, v in planted.items() if v[0] == "missing"}
