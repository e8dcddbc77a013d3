"""Jobs end to end through moto_server (SQS on loopback) and the in-process runner."""
from __future__ import annotations

import importlib.util
import json
import threading
from collections import Counter
from pathlib import Path

import pytest

from chalicelib.db import get_db
from chalicelib.jobs import JobContext, PermanentJobError, cancel_job, get_job, register_job, submit_job
from chalicelib.jobs.dispatcher import run_job
from chalicelib.jobs.registry import MAX_RECEIVE_COUNT
from chalicelib.jobs.sweep import sweep_stuck_jobs
from chalicelib.jobs.worker import LocalWorker
from chalicelib.errors import Conflict, NotFound, ValidationError

CALLS: Counter = Counter()
SEEN: dict = {}
GATE = threading.Event()


@register_job("test.jobs.ok")
def ok_job(ctx: JobContext):
    CALLS[ctx.job_id] += 1
    ctx.progress(50, "half way")
    SEEN[ctx.job_id] = get_db().one("SELECT status, progress, progress_message FROM jobs WHERE id = CAST(:id AS uuid)",
                                     id=ctx.job_id)
    return {"echo": ctx.payload, "attempt": ctx.attempt}


@register_job("test.jobs.boom")
def boom_job(ctx: JobContext):
    CALLS[ctx.job_id] += 1
    raise RuntimeError(f"boom #{ctx.attempt}")


@register_job("test.jobs.flaky")
def flaky_job(ctx: JobContext):
    CALLS[ctx.job_id] += 1
    if ctx.attempt < 3:
        raise RuntimeError("not yet")
    return "third time lucky"


@register_job("test.jobs.permanent")
def permanent_job(ctx: JobContext):
    CALLS[ctx.job_id] += 1
    raise PermanentJobError("bad input, retrying cannot help")


@register_job("test.jobs.waits")
def waiting_job(ctx: JobContext):
    CALLS[ctx.job_id] += 1
    GATE.wait(10)
    ctx.progress(90, "after the gate")
    return "finished"


def job(job_id: str) -> dict:
    return get_db().one("SELECT * FROM jobs WHERE id = CAST(:id AS uuid)", id=job_id)


def drain(worker: LocalWorker, rounds: int = 20) -> None:
    for _ in range(rounds):
        if worker.run_once(wait_s=0) == 0:
            return


def lambda_event(messages: list[dict], arn: str) -> dict:
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": {"ApproximateReceiveCount": m["Attributes"]["ApproximateReceiveCount"]},
        "messageAttributes": {}, "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "us-east-1",
    } for m in messages]}


def queue_arn(env, priority: str) -> str:
    return env.sqs.get_queue_attributes(QueueUrl=env.urls[priority], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


# ----------------------------------------------------------------- SQS path

def test_submitted_job_goes_queued_running_succeeded_with_progress(sqs_env):
    submitted = submit_job("test.jobs.ok", {"n": 1}, "critical")
    assert submitted["status"] == "queued" and submitted["progress"] == 0
    assert sqs_env.count(sqs_env.urls["critical"]) == 1
    drain(LocalWorker(sqs_env.queue))
    job_id = str(submitted["id"])
    assert SEEN[job_id] == {"status": "running", "progress": 50, "progress_message": "half way"}
    done = get_job(job_id)
    assert done["status"] == "succeeded" and done["progress"] == 100 and done["attempts"] == 1
    assert done["result"] == {"echo": {"n": 1}, "attempt": 1}
    assert done["started_at"] <= done["finished_at"]
    assert sqs_env.count(sqs_env.urls["critical"]) == 0


def test_failing_handler_is_retried_then_lands_in_the_dlq_with_the_job_failed(sqs_env, caplog):
    job_id = str(submit_job("test.jobs.boom", {}, "default")["id"])
    worker = LocalWorker(sqs_env.queue)
    with caplog.at_level("WARNING", logger="stepflow.jobs"):
        drain(worker, rounds=3 * MAX_RECEIVE_COUNT)
    row = get_job(job_id)
    assert CALLS[job_id] == MAX_RECEIVE_COUNT
    assert row["status"] == "failed" and row["attempts"] == MAX_RECEIVE_COUNT
    # the caller gets a summary; the last attempt's traceback is in the server log only
    assert row["error"]["code"] == "SYSTEM_ERROR" and "RuntimeError" in row["last_error"]
    assert "boom #" not in json.dumps(row, default=str) and "Traceback" not in json.dumps(row, default=str)
    last = [r for r in caplog.records if job_id in r.getMessage() and r.exc_info][-1]
    assert str(last.exc_info[1]) == f"boom #{MAX_RECEIVE_COUNT}"
    assert sqs_env.count(sqs_env.urls["default"]) == 0
    dead = sqs_env.sqs.receive_message(QueueUrl=sqs_env.dlqs["default"], MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["job_id"] for m in dead] == [job_id]


def test_retried_job_succeeds_on_a_later_delivery(sqs_env):
    job_id = str(submit_job("test.jobs.flaky", {}, "low")["id"])
    drain(LocalWorker(sqs_env.queue))
    row = job(job_id)
    assert row["status"] == "succeeded" and row["attempts"] == 3 and row["result"] == "third time lucky"
    assert CALLS[job_id] == 3


def test_permanent_error_fails_the_job_at_once_without_retries(sqs_env):
    job_id = str(submit_job("test.jobs.permanent", {}, "default")["id"])
    drain(LocalWorker(sqs_env.queue))
    row = job(job_id)
    assert row["status"] == "failed" and CALLS[job_id] == 1 and "retrying cannot help" in row["last_error"]
    assert sqs_env.count(sqs_env.urls["default"]) == 0 and sqs_env.count(sqs_env.dlqs["default"]) == 0


def test_duplicate_delivery_runs_the_handler_once(sqs_env):
    submitted = submit_job("test.jobs.ok", {"dup": True}, "default")
    job_id = str(submitted["id"])
    sqs_env.queue.send("default", job_id, "test.jobs.ok")  # the same message delivered twice
    drain(LocalWorker(sqs_env.queue))
    assert CALLS[job_id] == 1
    assert job(job_id)["status"] == "succeeded"
    assert sqs_env.count(sqs_env.urls["default"]) == 0


def test_delivery_for_a_job_running_elsewhere_with_a_fresh_heartbeat_does_nothing(sqs_env):
    job_id = str(submit_job("test.jobs.ok", {}, "default")["id"])
    get_db().execute("UPDATE jobs SET status = 'running', attempts = 1, heartbeat_at = NOW() "
                     "WHERE id = CAST(:id AS uuid)", id=job_id)
    outcome = run_job(job_id, receive_count=1)
    assert (outcome.action, outcome.status) == ("ack", "skipped")
    assert CALLS[job_id] == 0 and job(job_id)["attempts"] == 1


def test_app_sqs_handler_acknowledges_a_fully_successful_batch(sqs_env):
    import app as app_module
    from chalice.app import SQSEvent

    job_id = str(submit_job("test.jobs.ok", {}, "low")["id"])
    messages = sqs_env.sqs.receive_message(QueueUrl=sqs_env.urls["low"], MaxNumberOfMessages=10,
                                           MessageSystemAttributeNames=["All"])["Messages"]
    handler = app_module.app.handler_map["jobs_low"]
    result = handler.func(SQSEvent(lambda_event(messages, queue_arn(sqs_env, "low")), None))
    assert result["acknowledged"] == 1 and result["outcomes"] == ["succeeded"]
    assert job(job_id)["status"] == "succeeded"


def test_worker_takes_critical_before_default_before_low(sqs_env):
    order = [str(submit_job("test.jobs.ok", {"p": p}, p)["id"]) for p in ("low", "default", "critical")]
    worker = LocalWorker(sqs_env.queue)
    finished = []
    for _ in range(3):
        worker.run_once(wait_s=0)
        finished.append(next(j for j in order if job(j)["status"] == "succeeded" and j not in finished))
    assert finished == list(reversed(order))


def test_idempotency_key_returns_the_existing_job_and_enqueues_once(sqs_env):
    first = submit_job("test.jobs.ok", {"a": 1}, "default", idempotency_key="import-42")
    second = submit_job("test.jobs.ok", {"a": 2}, "default", idempotency_key="import-42")
    assert second["id"] == first["id"] and second["payload"] == {"a": 1}
    assert sqs_env.count(sqs_env.urls["default"]) == 1
    with pytest.raises(Conflict):
        submit_job("test.jobs.boom", {}, "default", idempotency_key="import-42")


@pytest.mark.parametrize("kwargs, message", [
    ({"type": "test.jobs.nope"}, "unknown job type"),
    ({"type": "test.jobs.ok", "priority": "urgent"}, "priority must be one of"),
    ({"type": "test.jobs.ok", "max_attempts": 9}, "max_attempts must be between"),
])
def test_submit_rejects_unknown_types_priorities_and_attempts(inline_queue, kwargs, message):
    with pytest.raises(ValidationError, match=message):
        submit_job(**kwargs)


def test_cancelled_queued_job_never_runs(sqs_env):
    job_id = str(submit_job("test.jobs.ok", {}, "default")["id"])
    assert cancel_job(job_id)["status"] == "cancelled"
    drain(LocalWorker(sqs_env.queue))
    assert CALLS[job_id] == 0 and job(job_id)["status"] == "cancelled"
    assert sqs_env.count(sqs_env.urls["default"]) == 0
    with pytest.raises(Conflict):
        cancel_job(job_id)


def test_cancelling_a_running_job_stops_it_at_its_next_progress_report(sqs_env):
    GATE.clear()
    job_id = str(submit_job("test.jobs.waits", {}, "default")["id"])
    worker = LocalWorker(sqs_env.queue)
    t = threading.Thread(target=worker.run_once, kwargs={"wait_s": 0})
    t.start()
    for _ in range(200):
        if CALLS[job_id]:
            break
        threading.Event().wait(0.01)
    assert cancel_job(job_id)["status"] == "cancelled"
    GATE.set()
    t.join(10)
    row = job(job_id)
    assert row["status"] == "cancelled" and row["result"] is None and row["progress"] != 90


def test_stuck_running_job_is_requeued_and_then_run_by_the_worker(sqs_env):
    job_id = str(submit_job("test.jobs.ok", {}, "default")["id"])
    sqs_env.sqs.purge_queue(QueueUrl=sqs_env.urls["default"])  # the message is lost with the dead worker
    get_db().execute("UPDATE jobs SET status = 'running', attempts = 1, heartbeat_at = NOW() - interval '2 hours' "
                     "WHERE id = CAST(:id AS uuid)", id=job_id)
    report = sweep_stuck_jobs(stuck_after_s=900)
    assert job_id in report["requeued"]
    assert job(job_id)["status"] == "queued" and "no heartbeat" in job(job_id)["last_error"]
    drain(LocalWorker(sqs_env.queue))
    assert job(job_id)["status"] == "succeeded" and job(job_id)["attempts"] == 2


def test_stuck_job_without_attempts_left_is_failed_by_the_sweep(sqs_env):
    job_id = str(submit_job("test.jobs.ok", {}, "default", max_attempts=1)["id"])
    get_db().execute("UPDATE jobs SET status = 'running', attempts = 1, heartbeat_at = NOW() - interval '2 hours' "
                     "WHERE id = CAST(:id AS uuid)", id=job_id)
    report = sweep_stuck_jobs(stuck_after_s=900)
    assert job_id in report["failed"]
    row = job(job_id)
    assert row["status"] == "failed" and "attempts exhausted" in row["last_error"]


def test_queued_job_whose_message_was_lost_is_resent_by_the_sweep(sqs_env):
    job_id = str(submit_job("test.jobs.ok", {}, "low")["id"])
    sqs_env.sqs.purge_queue(QueueUrl=sqs_env.urls["low"])
    get_db().execute("UPDATE jobs SET updated_at = NOW() - interval '2 hours' WHERE id = CAST(:id AS uuid)", id=job_id)
    assert job_id in sweep_stuck_jobs(stuck_after_s=900)["requeued"]
    drain(LocalWorker(sqs_env.queue))
    assert job(job_id)["status"] == "succeeded"


def test_max_receive_count_matches_the_infra_template():
    spec = importlib.util.spec_from_file_location(
        "finalize_template", Path(__file__).resolve().parents[2] / "infra" / "finalize_template.py")
    ft = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ft)
    resources = ft.load_template(Path(__file__).resolve().parents[2] / "infra" / "resources.yaml")
    assert resources["Parameters"]["MaxReceiveCount"]["Default"] == MAX_RECEIVE_COUNT


# ------------------------------------------------------------ inline runner

def test_inline_runner_runs_jobs_in_process_without_queue_urls(inline_queue):
    from chalicelib.jobs.queue import get_queue
    assert get_queue() is inline_queue
    job_id = str(submit_job("test.jobs.ok", {"inline": True})["id"])
    assert inline_queue.wait_idle(10)
    assert job(job_id)["status"] == "succeeded"


def test_inline_runner_retries_until_max_attempts_then_fails(inline_queue):
    job_id = str(submit_job("test.jobs.boom", {}, max_attempts=3)["id"])
    assert inline_queue.wait_idle(20)
    row = job(job_id)
    assert row["status"] == "failed" and row["attempts"] == 3 and CALLS[job_id] == 3


# --------------------------------------------------------------------- API

def test_jobs_api_lists_filters_shows_and_cancels(api, keys, inline_queue):
    GATE.set()
    done = str(submit_job("test.jobs.ok", {"password": "hunter2", "n": 1})["id"])
    assert inline_queue.wait_idle(10)
    r = api.get(f"/api/jobs/{done}")
    assert r.status == 200 and r.data["status"] == "succeeded" and r.data["progress"] == 100
    assert r.data["payload"] == {"password": "********", "n": 1}
    listed = api.get("/api/jobs?type=test.jobs.ok&status=succeeded&limit=500").data
    assert done in [j["id"] for j in listed["items"]]
    assert all(j["type"] == "test.jobs.ok" and j["status"] == "succeeded" for j in listed["items"])
    assert api.get("/api/jobs?status=bogus").status == 400
    assert api.post(f"/api/jobs/{done}/cancel").status == 409
    assert api.as_key(keys["viewer"]).post(f"/api/jobs/{done}/cancel").status == 403
    assert api.get("/api/jobs/00000000-0000-4000-8000-000000000000").status == 404
    assert api.get("/api/jobs/not-a-uuid").status == 400


def test_the_inline_queue_runs_jobs_through_the_runner_it_is_given_critical_first_and_retries():
    from chalicelib.jobs.dispatcher import Outcome
    from chalicelib.jobs.queue import InlineQueue

    ran: list[str] = []
    first_running, release = threading.Event(), threading.Event()

    def runner(job_id: str) -> Outcome:
        ran.append(job_id)
        if job_id == "first":
            first_running.set()
            release.wait(10)
        if job_id == "flaky" and ran.count("flaky") == 1:
            return Outcome("retry", "retrying", job_id, "boom", attempts=1)
        return Outcome("ack", "succeeded", job_id, final=True)

    q = InlineQueue(run=runner, backoff=lambda attempts: 0)
    q.send("low", "first")
    assert first_running.wait(10)
    for priority, job_id in (("low", "low"), ("default", "flaky"), ("critical", "critical")):
        q.send(priority, job_id)
    release.set()
    assert q.wait_idle(10)
    assert ran[:3] == ["first", "critical", "flaky"]
    assert sorted(ran[3:]) == ["flaky", "low"]
