"""Whole-dataset runs through the real server (scripts/run_local.py over
HTTP): with jobs in the server's process, and with the segment jobs on
moto SQS drained by the server's local worker plus a worker process."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import uuid

import pytest

from tests.conftest import ROOT, SECRET_KEY
from tests.fullrun.helpers import all_differences, found, run_body, wait_state


def test_an_operator_runs_a_comparison_a_viewer_watches_and_exports_it_but_cannot_steer_it(live_server, cfg1, cfg2,
                                                                                           planted):
    operator = live_server.api(live_server.key("operator"))
    viewer = live_server.api(live_server.key("viewer"))
    assert viewer.post("/api/compare-runs", run_body(cfg1, cfg2)).status == 403
    r = operator.post("/api/compare-runs", run_body(cfg1, cfg2))
    assert r.status == 202, r.json
    run_id = r.data["id"]
    run = wait_state(viewer, run_id, timeout=120)
    assert run["state"] == "completed", run
    assert found(all_differences(viewer, run_id)) == planted
    assert viewer.post(f"/api/compare-runs/{run_id}/resume").status == 403
    assert viewer.post(f"/api/compare-runs/{run_id}/cancel").status == 403
    assert operator.post(f"/api/compare-runs/{run_id}/resume").status == 409
    export = viewer.get(f"/api/compare-runs/{run_id}/export?format=csv&limit=20000")
    rows = list(csv.DictReader(io.StringIO(export.body.decode())))
    assert {x["key"] for x in rows} == set(planted)
    assert cfg2["password"] not in export.body.decode()
    assert cfg2["password"] not in viewer.get(f"/api/compare-runs/{run_id}").body.decode()


@pytest.fixture
def sqs_live_server(moto_endpoint):
    import boto3

    from tests.jobs.conftest import create_queues
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1")
    urls, _ = create_queues(sqs, f"live{uuid.uuid4().hex[:8]}-jobs")
    env = {"AWS_ENDPOINT_URL": moto_endpoint, "JOB_RETRY_DELAY_S": "0", "QUEUE_URL_CRITICAL": urls["critical"],
           "QUEUE_URL_DEFAULT": urls["default"], "QUEUE_URL_LOW": urls["low"]}
    from tests.conftest import own_live_server
    with own_live_server("fullsqs", env) as server:
        worker = subprocess.Popen([sys.executable, "-m", "chalicelib.compare.fullrun.workers", "1"], cwd=str(ROOT),
                                  env=dict(os.environ, DATABASE_URL=server.database_url, SECRET_KEYS=SECRET_KEY,
                                           PYTHONPATH=str(ROOT), **env),
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert worker.stdout.readline().strip() == "worker ready"
            yield server
        finally:
            worker.terminate()
            worker.wait(10)


def test_through_the_real_server_segment_jobs_on_sqs_run_on_its_worker_and_a_worker_process(sqs_live_server, cfg1,
                                                                                             cfg2, planted):
    operator = sqs_live_server.api(sqs_live_server.key("operator"))
    r = operator.post("/api/compare-runs", run_body(cfg1, cfg2))
    assert r.status == 202, r.json
    run = wait_state(operator, r.data["id"], timeout=120)
    assert run["state"] == "completed", run
    assert found(all_differences(operator, run["id"])) == planted
    jobs = operator.get("/api/jobs?type=compare.fullrun.segment&status=succeeded&limit=500").data["items"]
    mine = [j for j in jobs if j["payload"]["run_id"] == run["id"]]
    assert len(mine) >= 2 and {j["priority"] for j in mine} == {"low"}
