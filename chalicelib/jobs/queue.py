"""Where job messages go: SQS (one queue per priority) or an in-process runner.

`get_queue()` returns an `SqsQueue` when settings hold queue URLs for all three
priorities (AWS, or `moto_server` locally), else the `InlineQueue`: a single
daemon thread that runs jobs in priority order through the runner it is given
(the dispatcher's `run_job` by default), so `make run` works with nothing else
started. Messages are encoded by chalicelib.jobs.messages.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import Any, Callable

from chalicelib.jobs.dispatcher import Outcome, retry_delay, run_job
from chalicelib.jobs.messages import encode_message
from chalicelib.jobs.registry import PRIORITIES

Runner = Callable[[str], Outcome]

log = logging.getLogger("stepflow.jobs")


class SqsQueue:
    """The three SQS queues. boto3 comes from chalicelib.aws (lazy, honours AWS_ENDPOINT_URL)."""

    kind = "sqs"

    def __init__(self, urls: dict[str, str], sqs_client: Any = None):
        missing = [p for p in PRIORITIES if not urls.get(p)]
        if missing:
            raise ValueError(f"queue URLs missing for {missing}")
        self.urls = dict(urls)
        self._client = sqs_client

    @property
    def client(self):
        if self._client is None:
            from chalicelib.aws import client
            self._client = client("sqs")
        return self._client

    def url_for_arn(self, arn: str) -> str:
        name = arn.rsplit(":", 1)[-1]
        for url in self.urls.values():
            if url.rstrip("/").rsplit("/", 1)[-1] == name:
                return url
        raise KeyError(f"no configured queue URL for {arn}")

    def send(self, priority: str, job_id: str, job_type: str | None = None) -> None:
        self.client.send_message(QueueUrl=self.urls[priority], MessageBody=encode_message(job_id, job_type))

    def receive(self, priority: str, wait_s: int = 0, max_messages: int = 1) -> list[dict]:
        resp = self.client.receive_message(
            QueueUrl=self.urls[priority], MaxNumberOfMessages=max_messages, WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["ApproximateReceiveCount"])
        return resp.get("Messages", [])

    def delete(self, url: str, receipt_handle: str) -> None:
        self.client.delete_message(QueueUrl=url, ReceiptHandle=receipt_handle)

    def delay(self, url: str, receipt_handle: str, seconds: int) -> None:
        """Make an in-flight message visible again after `seconds` (retry backoff)."""
        self.client.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt_handle,
                                              VisibilityTimeout=max(0, min(int(seconds), 43200)))


class InlineQueue:
    """In-process runner: one daemon thread, jobs in priority order, each run by `run(job_id)`.

    A failed attempt is retried after the backoff (a timer re-queues it) until
    the job's max_attempts; there is no DLQ, the job row says `failed`."""

    kind = "inline"

    def __init__(self, run: Runner = run_job, backoff: Callable[[int], int] = retry_delay):
        self._run_job = run
        self._backoff = backoff
        self._heap: list[tuple[int, int, str]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._busy = 0
        self._timers: set[threading.Timer] = set()

    def send(self, priority: str, job_id: str, job_type: str | None = None) -> None:
        with self._cv:
            heapq.heappush(self._heap, (PRIORITIES.index(priority), next(self._seq), job_id))
            self._busy += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="stepflow-inline-jobs", daemon=True)
                self._thread.start()
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._heap:
                    self._cv.wait()
                prio, _, job_id = heapq.heappop(self._heap)
            try:
                outcome = self._run_job(job_id)
                if outcome.action == "retry" and not outcome.final:
                    self._later(self._backoff(outcome.attempts), PRIORITIES[prio], job_id)
            except Exception:  # noqa: BLE001 - the runner thread must survive anything
                log.exception("inline runner: job %s", job_id)
            finally:
                with self._cv:
                    self._busy -= 1
                    self._cv.notify_all()

    def _later(self, seconds: float, priority: str, job_id: str) -> None:
        with self._cv:
            self._busy += 1  # the pending retry keeps the runner "busy" for wait_idle()

        def fire():
            with self._cv:
                self._busy -= 1
                self._timers.discard(timer)
            self.send(priority, job_id)

        timer = threading.Timer(seconds, fire)
        timer.daemon = True
        with self._cv:
            self._timers.add(timer)
        timer.start()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing is queued, running or waiting for a retry (tests, CLI)."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._busy > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
        return True


_queue: SqsQueue | InlineQueue | None = None
_lock = threading.Lock()


def get_queue() -> SqsQueue | InlineQueue:
    global _queue
    if _queue is None:
        with _lock:
            if _queue is None:
                from chalicelib.settings import get_settings
                urls = get_settings().queue_urls
                _queue = SqsQueue(urls) if all(urls.get(p) for p in PRIORITIES) else InlineQueue()
    return _queue


def set_queue(queue: SqsQueue | InlineQueue | None) -> None:
    """Install a queue (tests, the local worker); None re-reads settings on next use."""
    global _queue
    _queue = queue
