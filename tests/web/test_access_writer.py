"""chalicelib.web.access_writer: access-log rows written with their request, or
in batches by a long-running server, none lost on a normal shutdown."""
from __future__ import annotations

import time
import uuid

import pytest

from chalicelib.web import access_writer


def _row(rid: str) -> dict:
    return {"created_at": "2026-12-01T10:00:00+00:00", "request_id": rid, "method": "GET", "route": "/api/x",
            "status_code": 200, "duration_ms": 1.5, "api_key_id": None, "role": None, "api_version": "v1"}


def _count(db, tag: str) -> int:
    return int(db.scalar("SELECT count(*) FROM api_access_logs WHERE request_id LIKE :t", t=tag + "%"))


@pytest.fixture
def started():
    access_writer.start()
    yield
    access_writer.stop()


def test_without_a_writer_thread_each_row_is_written_with_its_request(db):
    tag = uuid.uuid4().hex[:10]
    access_writer.write(_row(tag + "-1"))
    assert _count(db, tag) == 1


def test_a_started_writer_queues_rows_and_writes_them_on_flush(db, started):
    tag = uuid.uuid4().hex[:10]
    for i in range(5):
        access_writer.write(_row(f"{tag}-{i}"))
    access_writer.flush()
    assert _count(db, tag) == 5
    row = db.one("SELECT created_at::text AS at, duration_ms FROM api_access_logs WHERE request_id = :r",
                 r=f"{tag}-0")
    assert row == {"at": "2026-12-01 10:00:00+00", "duration_ms": 1.5}   # the request's own time, not the flush's


def test_queued_rows_are_written_within_the_flush_interval(db, started):
    tag = uuid.uuid4().hex[:10]
    access_writer.write(_row(tag + "-1"))
    time.sleep(access_writer.FLUSH_EVERY_S * 3 + 0.5)   # waits for the bound, does not time it
    assert _count(db, tag) == 1


def test_stopping_writes_every_queued_row(db):
    access_writer.start()
    tag = uuid.uuid4().hex[:10]
    for i in range(access_writer.BATCH_MAX + 7):
        access_writer.write(_row(f"{tag}-{i}"))
    access_writer.stop()
    assert _count(db, tag) == access_writer.BATCH_MAX + 7
