"""Jobs end to end through moto_server on loopback with one local worker:
jobs per second (submit -> succeeded) and the time from submit to running.

Own database (created and dropped), own moto_server, a no-op job type, so the
figures are the overhead of the job machinery: a job row insert, an SQS send,
a long-poll receive, the claim, the success update and the delete.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

JOBS = 300
LATENCY_SAMPLES = 40


def main() -> None:
    from bench.scratch import scratch_database
    with scratch_database("jobs") as (db_url, _):
        _run(db_url)


def _run(db_url: str) -> None:
    from chalicelib import aws
    from chalicelib.db import Database, set_db
    from chalicelib.db.migrate import migrate
    from chalicelib.jobs import JobContext, register_job, submit_job
    from chalicelib.jobs import queue as job_queue
    from chalicelib.jobs.worker import LocalWorker
    from chalicelib.secrets import generate_key
    from chalicelib.settings import Settings, reset_settings
    from tests.jobs.conftest import AWS_ENV, create_queues, start_moto_server

    for k, v in AWS_ENV.items():
        os.environ.setdefault(k, v)
    moto, endpoint = start_moto_server()
    started_at: dict[str, float] = {}

    @register_job("bench.noop")
    def noop(ctx: JobContext):
        started_at.setdefault(ctx.job_id, time.perf_counter())
        return None

    worker = None
    try:
        db = Database(db_url)
        migrate(db)
        set_db(db)
        settings = Settings(database_url=db_url, secret_keys=(generate_key(),), aws_endpoint_url=endpoint,
                            job_retry_delay_s=0)
        reset_settings(settings)
        aws.reset_clients()
        urls, _ = create_queues(aws.client("sqs"), f"bench{uuid.uuid4().hex[:6]}-jobs")
        reset_settings(Settings(**{**settings.__dict__, "queue_urls": urls}))
        queue = job_queue.SqsQueue(urls)
        job_queue.set_queue(queue)

        # Throughput: submit a backlog, then one worker drains it.
        ids = [str(submit_job("bench.noop", {"i": i}, "default")["id"]) for i in range(JOBS)]
        worker = LocalWorker(queue, wait_s=1)
        t0 = time.perf_counter()
        while True:
            if worker.run_once(wait_s=0) == 0:
                left = int(db.scalar("SELECT count(*) FROM jobs WHERE status <> 'succeeded'"))
                if left == 0:
                    break
        drain_s = time.perf_counter() - t0
        done = int(db.scalar("SELECT count(*) FROM jobs WHERE status = 'succeeded'"))
        assert done == JOBS, f"{done} of {JOBS} succeeded"

        # Latency: an idle worker long-polling; submit one job at a time.
        worker.start()
        time.sleep(0.3)
        samples = []
        for _ in range(LATENCY_SAMPLES):
            t_submit = time.perf_counter()
            job_id = str(submit_job("bench.noop", {}, "default")["id"])
            while job_id not in started_at:
                time.sleep(0.001)
            samples.append((started_at[job_id] - t_submit) * 1000)
        samples.sort()
        print(f"throughput: {JOBS} no-op jobs drained by one worker in {drain_s:.2f}s "
              f"= {JOBS / drain_s:.1f} jobs/s (moto_server on loopback)")
        print(f"submit -> running: median {statistics.median(samples):.1f} ms, "
              f"p90 {samples[int(len(samples) * 0.9) - 1]:.1f} ms, max {samples[-1]:.1f} ms "
              f"({LATENCY_SAMPLES} jobs, idle worker long-polling)")
        print(f"ratio: per-job overhead {1000 * drain_s / JOBS:.1f} ms vs submit->running median "
              f"{statistics.median(samples):.1f} ms")
        del ids
    finally:
        if worker is not None:
            worker.stop(5)
        job_queue.set_queue(None)
        set_db(None)
        moto.terminate()


if __name__ == "__main__":
    main()
