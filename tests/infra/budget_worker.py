"""One simulated Lambda container of a job queue, for the connection-budget
simulation (tests/infra/test_connection_budget.py). Not a test module.

    python tests/infra/budget_worker.py <priority>

It does what Lambda's SQS event source does for one container with batch
size 1: receive a message, invoke the app's `jobs_<priority>` handler with an
SQS event, delete the records the handler did not report in
batchItemFailures, repeat. Settings come from the environment exactly as in
Lambda (DATABASE_URL, QUEUE_URL_*, AWS_ENDPOINT_URL, DB_POOL_MAX, ...), so
the process holds the connections one container would hold. SIGTERM stops it.
"""
from __future__ import annotations

import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chalicelib.db import get_db  # noqa: E402
from chalicelib.jobs import JobContext, register_job  # noqa: E402

BATCH_SIZE = 1  # as the templates' event sources


@register_job("sim.touch")
def touch(ctx: JobContext):
    """A trivial job that holds the database for a moment (claim, a query, the result)."""
    get_db().scalar("SELECT pg_sleep(0.005)")
    ctx.progress(50)
    return {"i": ctx.payload.get("i")}


def main(priority: str) -> int:
    import app
    from chalice.app import SQSEvent

    from chalicelib.aws import client
    from chalicelib.settings import get_settings

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    handler = app.app.handler_map[f"jobs_{priority}"].func
    sqs = client("sqs")
    url = get_settings().queue_urls[priority]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    print("ready", flush=True)
    while not stopping:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=BATCH_SIZE, WaitTimeSeconds=1,
                                       MessageSystemAttributeNames=["ApproximateReceiveCount"]).get("Messages", [])
        if not messages:
            continue
        event = SQSEvent({"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": {"ApproximateReceiveCount": m["Attributes"]["ApproximateReceiveCount"]},
            "eventSource": "aws:sqs", "eventSourceARN": arn,
        } for m in messages]}, None)
        answer = handler(event)
        failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        for m in messages:
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
