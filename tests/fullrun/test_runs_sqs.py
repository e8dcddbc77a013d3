"""Whole-dataset runs with segment jobs on (moto) SQS and local workers:
in-process workers, a worker process killed mid-run and resumed, the
shared rate limit, and a side that fails mid-run pausing the run."""
from __future__ import annotations

import threading
import time

from chalicelib.jobs.worker import LocalWorker
from tests.fullrun.datasets import plant, union_size
from tests.fullrun.helpers import all_differences, drain, found, run_body, start_and_kill_a_worker, wait_state


def comparable(diffs: list[dict]) -> dict:
    """What a run reports per key, without ids, timestamps and segment names."""
    return {d["key"]: (d["difference_type"], d["missing_in"], d["value_type"],
                       d["detail"].get("cluster1_value"), d["detail"].get("cluster2_value"))
            for d in diffs}


def test_segments_run_as_low_priority_jobs_on_sqs_and_find_every_planted_difference(api, sqs_env, cfg1, cfg2,
                                                                                     planted):
    run_id = api.post("/api/compare-runs", run_body(cfg1, cfg2)).data["id"]
    jobs = api.get("/api/jobs?type=compare.fullrun.segment&limit=100").data["items"]
    mine = [j for j in jobs if j["payload"]["run_id"] == run_id]
    assert mine and all(j["priority"] == "low" for j in mine)
    run = drain(api, sqs_env, run_id, workers=2)
    assert run["state"] == "completed", run
    assert found(all_differences(api, run_id)) == planted
    # slices of 0.5 s continue as new jobs: more jobs than segments
    jobs = api.get("/api/jobs?type=compare.fullrun.segment&limit=500").data["items"]
    assert len([j for j in jobs if j["payload"]["run_id"] == run_id]) >= 2


def test_a_killed_worker_resumed_gives_the_results_of_an_uninterrupted_run_and_counts_no_segment_twice(
        api, sqs_env, moto_endpoint, cfg1, cfg2, env1, env2):
    expected = plant(env1, env2, n_identical=1500)
    union = union_size(env1, env2)
    run_id = start_and_kill_a_worker(api, sqs_env, moto_endpoint, run_body(cfg1, cfg2, max_ops_per_second=1500))
    killed = api.get(f"/api/compare-runs/{run_id}").data
    assert killed["state"] == "running" and killed["progress"]["keys_compared"] < union

    assert api.post(f"/api/compare-runs/{run_id}/cancel").status == 200
    r = api.post(f"/api/compare-runs/{run_id}/resume")
    assert r.status == 200, r.json
    run = drain(api, sqs_env, run_id)
    assert run["state"] == "completed", run
    assert run["progress"]["keys_compared"] == union
    assert run["progress"]["identical"] + run["progress"]["differences"] == union
    resumed = comparable(all_differences(api, run_id))
    assert {k: v[:2] for k, v in resumed.items()} == expected

    again = api.post("/api/compare-runs", run_body(cfg1, cfg2)).data["id"]
    straight = drain(api, sqs_env, again)
    assert straight["state"] == "completed"
    assert comparable(all_differences(api, again)) == resumed
    assert straight["summary"]["counts"] == run["summary"]["counts"]


def test_the_job_of_a_killed_worker_is_redelivered_and_finishes_its_segment_from_the_checkpoint(
        api, sqs_env, moto_endpoint, cfg1, cfg2, env1, env2):
    from chalicelib.jobs.sweep import sweep_stuck_jobs
    expected = plant(env1, env2, n_identical=1500)
    union = union_size(env1, env2)
    run_id = start_and_kill_a_worker(api, sqs_env, moto_endpoint, run_body(cfg1, cfg2, max_ops_per_second=1500))
    before = api.get(f"/api/compare-runs/{run_id}").data
    assert before["state"] == "running" and before["progress"]["keys_compared"] < union
    report = sweep_stuck_jobs(stuck_after_s=0)  # its heartbeat stopped with it: the job is re-queued
    assert report["requeued"]
    run = drain(api, sqs_env, run_id)
    assert run["state"] == "completed", run
    assert run["progress"]["keys_compared"] == union
    assert found(all_differences(api, run_id)) == expected
    attempts = [s["attempts"] for s in run["segments"]]
    assert max(attempts) >= 2  # a segment was claimed again after the kill


def _commands(client) -> int:
    return int(client.info("stats")["total_commands_processed"])


def test_two_workers_together_stay_under_max_ops_per_second_on_each_side(api, sqs_env, cfg1, cfg2, env1, env2):
    pipe1, pipe2 = env1.pipeline(transaction=False), env2.pipeline(transaction=False)
    for i in range(700):
        pipe1.set(f"k:{i}", i)
        pipe2.set(f"k:{i}", i if i % 100 else -i)
    pipe1.execute()
    pipe2.execute()
    limit = 500
    before = (_commands(env1), _commands(env2))
    t0 = time.monotonic()
    run_id = api.post("/api/compare-runs", run_body(cfg1, cfg2, compare_ttl=False, slice_seconds=60,
                                                    scan_count=100, step_keys=100,
                                                    max_ops_per_second=limit)).data["id"]
    run = drain(api, sqs_env, run_id, workers=2)
    elapsed = time.monotonic() - t0
    assert run["state"] == "completed", run
    assert len(all_differences(api, run_id)) == 6
    for c, b in zip((env1, env2), before):
        sent = _commands(c) - b
        assert sent > limit, "the run must need more than a second of budget for the test to mean anything"
        assert sent / elapsed <= limit * 1.1, (sent, elapsed)


def test_a_side_that_fails_mid_run_pauses_the_run_and_resume_after_its_restart_finishes_it(api, sqs_env, cfg1, env1):
    from tests.compare import redis_servers as rs
    from tests.compare.conftest import side_config
    srv = rs.start_server()
    try:
        c2 = srv.client()
        expected = plant(env1, c2, n_identical=1200)
        run_id = api.post("/api/compare-runs", run_body(cfg1, side_config(srv, "flaky"),
                                                        max_ops_per_second=1500)).data["id"]
        worker = LocalWorker(sqs_env.queue, wait_s=1)
        t = threading.Thread(target=lambda: [worker.run_once(1) for _ in range(400)
                                             if not worker._stop.is_set()], daemon=True)
        t.start()
        while api.get(f"/api/compare-runs/{run_id}").data["progress"]["steps"] < 3:
            time.sleep(0.05)
        port = srv.port
        srv.stop()
        run = wait_state(api, run_id, ("paused",), 60)
        worker._stop.set()
        t.join(30)
        paused = api.get(f"/api/compare-runs/{run_id}").data
        assert run["state"] == "paused", run
        assert "cluster2" in run["state_reason"] and "flaky" in run["state_reason"]
        assert any(s["state"] == "failed" and s["last_error"] for s in run["segments"])

        srv = rs.start_server(port=port)
        c2 = srv.client()
        env1.flushall()
        expected = plant(env1, c2, n_identical=1200)
        assert api.post(f"/api/compare-runs/{run_id}/resume").status == 200
        run = drain(api, sqs_env, run_id)
        assert run["state"] == "completed", run
        assert found(all_differences(api, run_id)) == expected
        assert run["progress"]["keys_compared"] == union_size(env1, c2)
        # a cluster2 walk cut short is walked again: its cursor belonged to the server that died
        after = {s["segment_id"]: s["restarts"] for s in run["segments"]}
        assert all(after[s["segment_id"]] == (s["side"] == "cluster2" and s["step"] > 0 and s["state"] != "done")
                   for s in paused["segments"])
    finally:
        srv.stop()
