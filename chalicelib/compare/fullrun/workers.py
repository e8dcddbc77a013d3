"""A local job worker process: `python -m chalicelib.compare.fullrun.workers`.

Locally the queue's concurrency is the number of these processes (in AWS it
is the Lambda concurrency of the low queue's function). Each one polls the
SQS queues named by the settings (QUEUE_URL_*, AWS_ENDPOINT_URL for
moto_server) with the jobs system's LocalWorker, and runs until SIGTERM /
SIGINT. With no queue URLs there is nothing to poll and it exits with 2.
"""
from __future__ import annotations

import signal
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    import app  # noqa: F401 - registers every job type, as a Lambda container would
    from chalicelib.jobs.queue import SqsQueue, get_queue
    from chalicelib.jobs.worker import LocalWorker

    queue = get_queue()
    if not isinstance(queue, SqsQueue):
        print("no queue URLs configured (QUEUE_URL_CRITICAL/_DEFAULT/_LOW)", file=sys.stderr)
        return 2
    wait = int((argv or sys.argv[1:] or ["1"])[0])
    worker = LocalWorker(queue, wait_s=wait)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker.start()
    print("worker ready", flush=True)
    stop.wait()
    worker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
