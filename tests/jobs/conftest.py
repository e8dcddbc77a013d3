"""moto_server on a free loopback port for the run, and per-test SQS queues
(critical/default/low, each with a DLQ, maxReceiveCount 5) wired into settings."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from chalicelib import aws
from chalicelib.jobs import queue as job_queue
from chalicelib.jobs.registry import MAX_RECEIVE_COUNT, PRIORITIES
from chalicelib.settings import reset_settings
from tests.conftest import base_settings

AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_SESSION_TOKEN": "testing"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto_server() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    exe = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("moto_server exited at start")
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("moto_server did not start")


@pytest.fixture(scope="session")
def moto_endpoint():
    for k, v in AWS_ENV.items():
        os.environ.setdefault(k, v)
    proc, endpoint = start_moto_server()
    yield endpoint
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


def create_queues(sqs, prefix: str, visibility_s: int = 30) -> tuple[dict, dict]:
    """Queues named <prefix>-<priority> and their -dlq; returns (urls, dlq_urls)."""
    urls, dlqs = {}, {}
    for p in PRIORITIES:
        dlq_url = sqs.create_queue(QueueName=f"{prefix}-{p}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        import json
        urls[p] = sqs.create_queue(QueueName=f"{prefix}-{p}", Attributes={
            "VisibilityTimeout": str(visibility_s),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}),
        })["QueueUrl"]
        dlqs[p] = dlq_url
    return urls, dlqs


class SqsEnv:
    def __init__(self, sqs, urls, dlqs, queue):
        self.sqs, self.urls, self.dlqs, self.queue = sqs, urls, dlqs, queue

    def count(self, url: str) -> int:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def sqs_env(moto_endpoint):
    """Fresh queues for this test, installed as the app's queue (settings + get_queue())."""
    prefix = f"t{uuid.uuid4().hex[:10]}-jobs"
    settings = base_settings(aws_endpoint_url=moto_endpoint, job_retry_delay_s=0, queue_name_prefix=prefix)
    reset_settings(settings)
    aws.reset_clients()
    sqs = aws.client("sqs")
    urls, dlqs = create_queues(sqs, prefix)
    reset_settings(base_settings(aws_endpoint_url=moto_endpoint, job_retry_delay_s=0, queue_name_prefix=prefix,
                                 queue_urls=urls))
    q = job_queue.SqsQueue(urls)
    job_queue.set_queue(q)
    yield SqsEnv(sqs, urls, dlqs, q)
    job_queue.set_queue(None)
    aws.reset_clients()


@pytest.fixture
def inline_queue():
    reset_settings(base_settings(job_retry_delay_s=0))
    q = job_queue.InlineQueue()
    job_queue.set_queue(q)
    yield q
    q.wait_idle(10)
    job_queue.set_queue(None)
