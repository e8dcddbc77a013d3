"""Driving runs through the API in tests."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.conftest import ROOT, SECRET_KEY, TEST_DATABASE_URL


def run_body(cfg1: dict, cfg2: dict, **kw) -> dict:
    body = {"engine": "redis", "cluster1_config": cfg1, "cluster2_config": cfg2, "compare_ttl": True,
            "recheck_rounds": 1, "recheck_delay_seconds": 0, "scan_count": 20, "step_keys": 40,
            "slice_seconds": 0.5}
    body.update(kw)
    return body


def cql_config(srv, table: str, password: str | None = None, **kw) -> dict:
    """The table config of a CQL test server, as a run body takes it."""
    cfg = {"cluster_name": srv.catalog.cluster_name, "datacenter": "datacenter1", "hosts": [srv.host],
           "port": srv.port, "keyspace": "ks", "table": table, "connect_timeout": 5, "request_timeout": 10}
    if password:
        cfg.update(username="cassandra", password=password)
    cfg.update(kw)
    return cfg


def all_differences(api, run_id: str, **params) -> list[dict]:
    out, offset = [], 0
    extra = "".join(f"&{k}={v}" for k, v in params.items())
    while True:
        r = api.get(f"/api/compare-runs/{run_id}/differences?limit=50&offset={offset}{extra}")
        assert r.status == 200, r.json
        out.extend(r.data["items"])
        if not r.data["has_more"]:
            return out
        offset += 50


def found(diffs: list[dict]) -> dict:
    return {d["key"]: (d["difference_type"], d["missing_in"]) for d in diffs}


def wait_state(api, run_id: str, states=("completed",), timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = api.get(f"/api/compare-runs/{run_id}").data
        if run["state"] in states or time.monotonic() > deadline:
            return run
        time.sleep(0.1)


def drain(api, sqs_env, run_id: str, workers: int = 1, timeout: float = 90) -> dict:
    """Run `workers` local workers (threads) until the run leaves `running`."""
    from chalicelib.jobs.worker import LocalWorker
    ws = [LocalWorker(sqs_env.queue, wait_s=1).start() for _ in range(workers)]
    try:
        return wait_state(api, run_id, ("completed", "failed", "paused", "cancelled"), timeout)
    finally:
        for w in ws:
            w.stop()


def worker_process(sqs_env, moto_endpoint) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=TEST_DATABASE_URL, SECRET_KEYS=SECRET_KEY, PYTHONPATH=str(ROOT),
               AWS_ENDPOINT_URL=moto_endpoint, JOB_RETRY_DELAY_S="0",
               QUEUE_URL_CRITICAL=sqs_env.urls["critical"], QUEUE_URL_DEFAULT=sqs_env.urls["default"],
               QUEUE_URL_LOW=sqs_env.urls["low"])
    return subprocess.Popen([sys.executable, "-m", "chalicelib.compare.fullrun.workers", "1"], cwd=str(ROOT),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def start_and_kill_a_worker(api, sqs_env, moto_endpoint, body: dict, steps: int = 6) -> str:
    """Start a run, let a worker process commit `steps` steps, SIGKILL it."""
    run_id = api.post("/api/compare-runs", body).data["id"]
    proc = worker_process(sqs_env, moto_endpoint)
    try:
        assert proc.stdout.readline().strip() == "worker ready"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            p = api.get(f"/api/compare-runs/{run_id}").data["progress"]
            if p["steps"] >= steps:
                break
            time.sleep(0.05)
        proc.kill()  # no cleanup: a step may be half done
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    return run_id
