"""Local worker for `make run` with queue URLs (real SQS or moto_server):
long-polls the three queues and runs messages through the same dispatcher
as the Lambda handlers, critical first.

Each round first asks the queues in priority order without waiting and runs
the first message found, so a backlog drains critical -> default -> low. When
all three are empty it long-polls all three at once (one thread each, up to
`wait_s`), so a new message of any priority is picked up at once, and runs
what arrived in priority order.

    from chalicelib.jobs.worker import start_local_worker
    worker = start_local_worker()      # None when no queue URLs are configured
    ...
    worker.stop()
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from chalicelib.jobs.dispatcher import Outcome, run_message
from chalicelib.jobs.queue import SqsQueue
from chalicelib.jobs.registry import PRIORITIES

log = logging.getLogger("stepflow.jobs")


class LocalWorker:
    def __init__(self, queue: SqsQueue, wait_s: int = 5):
        self.queue = queue
        self.wait_s = wait_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=len(PRIORITIES), thread_name_prefix="stepflow-poll")
        self.processed = 0

    # -- one message ----------------------------------------------------------
    def _handle(self, priority: str, message: dict) -> Outcome:
        url = self.queue.urls[priority]
        receive_count = int((message.get("Attributes") or {}).get("ApproximateReceiveCount", "1"))
        outcome = run_message(message["Body"], receive_count)
        if outcome.action == "ack":
            self.queue.delete(url, message["ReceiptHandle"])
        elif outcome.delay_s is not None:
            self.queue.delay(url, message["ReceiptHandle"], outcome.delay_s)
        self.processed += 1
        return outcome

    # -- one round ------------------------------------------------------------
    def run_once(self, wait_s: int | None = None) -> int:
        """One polling round; returns how many messages it handled."""
        for priority in PRIORITIES:
            messages = self.queue.receive(priority, wait_s=0)
            if messages:
                for m in messages:
                    self._handle(priority, m)
                return len(messages)
        wait = self.wait_s if wait_s is None else wait_s
        if wait <= 0 or self._stop.is_set():
            return 0
        futures = {p: self._pool.submit(self.queue.receive, p, wait) for p in PRIORITIES}
        handled = 0
        for priority in PRIORITIES:  # what arrived meanwhile, critical first
            try:
                messages = futures[priority].result()
            except Exception:  # noqa: BLE001 - one queue failing must not stop the others
                log.exception("local worker: receive from %s failed", priority)
                continue
            for m in messages:
                self._handle(priority, m)
                handled += 1
        return handled

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - keep polling; back off a little
                log.exception("local worker round failed")
                self._stop.wait(1.0)

    def start(self) -> "LocalWorker":
        self._thread = threading.Thread(target=self.run_forever, name="stepflow-local-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout if timeout is not None else self.wait_s + 5)
        self._pool.shutdown(wait=False)


def start_local_worker(wait_s: int = 5) -> LocalWorker | None:
    """Start a background worker when settings hold queue URLs (for scripts/run_local.py)."""
    from chalicelib.jobs.queue import get_queue
    queue = get_queue()
    if not isinstance(queue, SqsQueue):
        return None
    log.info("local worker polling %s", ", ".join(queue.urls.values()))
    return LocalWorker(queue, wait_s).start()
