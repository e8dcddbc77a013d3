"""How long a comparison may run (chalicelib.compare.core.deadline), in process."""
from __future__ import annotations

import pytest

from chalicelib.compare.core import deadline
from chalicelib.errors import RequestTimeout, ValidationError
from chalicelib.jobs import PermanentJobError


class Req:
    def __init__(self, timeout=None):
        self.timeout = timeout


def test_a_synchronous_comparison_gets_29_seconds_unless_it_asks_for_less():
    assert deadline.sync_seconds(Req()) == 29.0
    assert deadline.sync_seconds(Req(5)) == 5.0
    assert deadline.sync_seconds(Req(29)) == 29.0


def test_a_synchronous_timeout_over_29_seconds_is_a_400_naming_timeout():
    with pytest.raises(ValidationError) as exc:
        deadline.sync_seconds(Req(29.5))
    assert exc.value.details["errors"][0]["loc"] == ["body", "timeout"]
    assert '"async": true' in exc.value.message


def test_past_the_deadline_the_progress_callback_stops_the_work():
    seen = []
    with pytest.raises(RequestTimeout) as exc:
        deadline.guarded(0.0, lambda s: RequestTimeout(f"over {s}"), lambda *a: seen.append(a))(1, 2, "comparing")
    assert seen == [] and exc.value.status == 408
    report = deadline.sync_progress(Req(10), lambda *a: seen.append(a))
    report(1, 2, "comparing")
    assert seen == [(1, 2, "comparing")]


def test_a_job_past_its_timeout_fails_for_good():
    with pytest.raises(PermanentJobError) as exc:
        deadline.guarded(0.0, lambda s: PermanentJobError(f"TIMEOUT_ERROR: {s}"))(0, 1, "connecting")
    assert "TIMEOUT_ERROR" in str(exc.value)
    assert deadline.job_seconds(Req(300)) == 300.0
