"""SQS operations on moto_server: the Lambda job handlers answer partial batch
failures (batchItemFailures), and the DLQ redrive command moves dead jobs
back to their queue so they run again."""
from __future__ import annotations

import json

import pytest

from chalicelib import cli
from chalicelib.db import get_db
from chalicelib.jobs import JobContext, get_job, register_job, submit_job
from chalicelib.jobs.lambdas import consume
from chalicelib.jobs.redrive import redrive
from chalicelib.jobs.registry import MAX_RECEIVE_COUNT
from chalicelib.jobs.worker import LocalWorker
from tests.jobs.conftest import moto_endpoint, sqs_env  # noqa: F401 (fixtures)

FLAKY_UNTIL: dict[str, int] = {}


@register_job("test.ops.ok")
def _ok(ctx: JobContext):
    return {"n": ctx.payload.get("n")}


@register_job("test.ops.boom")
def _boom(ctx: JobContext):
    raise RuntimeError("boom")


@register_job("test.ops.fixed_later")
def _fixed_later(ctx: JobContext):
    if not FLAKY_UNTIL.get("fixed"):
        raise RuntimeError("dependency down")
    return "fixed"


def receive_all(env, priority: str) -> list[dict]:
    return env.sqs.receive_message(QueueUrl=env.urls[priority], MaxNumberOfMessages=10,
                                   MessageSystemAttributeNames=["All"])["Messages"]


def arn_of(env, url: str) -> str:
    return env.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def sqs_event(env, priority: str, messages: list[dict]):
    from chalice.app import SQSEvent
    arn = arn_of(env, env.urls[priority])
    return SQSEvent({"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": {"ApproximateReceiveCount": m["Attributes"]["ApproximateReceiveCount"]},
        "messageAttributes": {}, "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "us-east-1",
    } for m in messages]}, None)


def status(job_id: str) -> str:
    return get_db().scalar("SELECT status FROM jobs WHERE id = CAST(:id AS uuid)", id=job_id)


# ------------------------------------------------------- batchItemFailures

def test_a_batch_with_one_failing_record_reports_only_that_record_as_a_batch_item_failure(sqs_env):
    good = [str(submit_job("test.ops.ok", {"n": i}, "default")["id"]) for i in range(3)]
    bad = str(submit_job("test.ops.boom", {}, "default")["id"])
    messages = receive_all(sqs_env, "default")
    assert len(messages) == 4
    by_job = {json.loads(m["Body"])["job_id"]: m["MessageId"] for m in messages}
    answer = consume(sqs_event(sqs_env, "default", messages), queue=sqs_env.queue)
    assert answer["batchItemFailures"] == [{"itemIdentifier": by_job[bad]}]
    assert all(status(g) == "succeeded" for g in good) and status(bad) == "queued"


def test_a_fully_successful_batch_reports_no_failures_through_the_app_handler(sqs_env):
    import app as app_module
    job_id = str(submit_job("test.ops.ok", {"n": 1}, "critical")["id"])
    handler = app_module.app.handler_map["jobs_critical"]
    answer = handler.func(sqs_event(sqs_env, "critical", receive_all(sqs_env, "critical")))
    assert answer["batchItemFailures"] == [] and answer["outcomes"] == ["succeeded"]
    assert status(job_id) == "succeeded"


def test_a_record_that_is_not_a_job_message_is_dropped_not_redelivered(sqs_env):
    sqs_env.sqs.send_message(QueueUrl=sqs_env.urls["low"], MessageBody="not json")
    answer = consume(sqs_event(sqs_env, "low", receive_all(sqs_env, "low")), queue=sqs_env.queue)
    assert answer["batchItemFailures"] == [] and answer["outcomes"] == ["skipped"]


def test_a_failed_record_becomes_visible_again_after_its_backoff(sqs_env):
    # sqs_env sets JOB_RETRY_DELAY_S=0: the backoff is immediate (the queue's own visibility is 30 s).
    submit_job("test.ops.boom", {}, "critical")
    answer = consume(sqs_event(sqs_env, "critical", receive_all(sqs_env, "critical")), queue=sqs_env.queue)
    assert len(answer["batchItemFailures"]) == 1
    # Lambda leaves a reported failure on the queue; its visibility was set to the (zero) backoff.
    assert len(receive_all(sqs_env, "critical")) == 1


# ------------------------------------------------------------------ redrive

def _kill(sqs_env, job_type: str, priority: str = "default") -> str:
    """Run a job until its message is in the DLQ and the job is failed."""
    job_id = str(submit_job(job_type, {}, priority)["id"])
    worker = LocalWorker(sqs_env.queue)
    for _ in range(3 * MAX_RECEIVE_COUNT):
        if worker.run_once(wait_s=0) == 0 and sqs_env.count(sqs_env.urls[priority]) == 0:
            break
    # One more receive moves the message to the DLQ (moto, like SQS, does it on receive).
    sqs_env.queue.receive(priority)
    assert status(job_id) == "failed" and sqs_env.count(sqs_env.dlqs[priority]) == 1
    return job_id


def test_redrive_puts_a_dead_job_back_on_its_queue_and_it_runs_again(sqs_env):
    FLAKY_UNTIL["fixed"] = False
    job_id = _kill(sqs_env, "test.ops.fixed_later")
    FLAKY_UNTIL["fixed"] = True
    report = redrive("default", sqs_env.sqs, sqs_env.urls)
    assert report["counts"] == {"redriven": 1, "dropped": 0, "kept": 0}
    assert sqs_env.count(sqs_env.dlqs["default"]) == 0 and status(job_id) == "queued"
    LocalWorker(sqs_env.queue).run_once(wait_s=0)
    done = get_job(job_id)
    assert done["status"] == "succeeded" and done["result"] == "fixed" and done["attempts"] == 1


def test_redrive_dry_run_changes_nothing(sqs_env):
    job_id = _kill(sqs_env, "test.ops.boom")
    report = redrive("default", sqs_env.sqs, sqs_env.urls, dry_run=True)
    assert report["redriven"] == [{"job_id": job_id, "status": "failed"}]
    assert status(job_id) == "failed" and sqs_env.count(sqs_env.dlqs["default"]) == 1


def test_redrive_drops_messages_of_jobs_that_finished_meanwhile_and_keeps_foreign_messages(sqs_env):
    job_id = _kill(sqs_env, "test.ops.boom")
    get_db().execute("UPDATE jobs SET status = 'cancelled' WHERE id = CAST(:id AS uuid)", id=job_id)
    sqs_env.sqs.send_message(QueueUrl=sqs_env.dlqs["default"], MessageBody="something else")
    report = redrive("default", sqs_env.sqs, sqs_env.urls)
    assert report["counts"] == {"redriven": 0, "dropped": 1, "kept": 1}
    assert sqs_env.count(sqs_env.urls["default"]) == 0 and status(job_id) == "cancelled"


def test_redrive_cli_prints_a_json_report(sqs_env, capsys):
    _kill(sqs_env, "test.ops.boom", "low")
    capsys.readouterr()
    assert cli.main(["redrive-dlq", "--priority", "low"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["priority"] == "low" and report["counts"]["redriven"] == 1
    assert sqs_env.count(sqs_env.urls["low"]) == 1


def test_redrive_refuses_an_unknown_priority(sqs_env):
    with pytest.raises(ValueError, match="priority must be one of"):
        redrive("urgent", sqs_env.sqs, sqs_env.urls)
