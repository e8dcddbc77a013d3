"""The body of a job message, on every queue: `{"job_id", "type"}` as compact
JSON. It carries only the job id (and type, for logs): the payload lives in
the `jobs` row."""
from __future__ import annotations

import json
import uuid


def encode_message(job_id: str, job_type: str | None = None) -> str:
    return json.dumps({"job_id": job_id, "type": job_type}, separators=(",", ":"))


def decode_message(body: str) -> str:
    """The job id from a message body; ValueError when the body is not ours."""
    try:
        data = json.loads(body)
        job_id = data["job_id"]
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"not a job message: {body[:200]!r}") from exc
    return str(uuid.UUID(str(job_id)))
