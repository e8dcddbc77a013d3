"""chalicelib.spans: timing spans the benches read, inert unless switched on."""
import time

from chalicelib import spans


def test_spans_record_nothing_while_off():
    spans.enable(False)
    with spans.span("load"):
        pass
    spans.add("upstream", time.perf_counter())
    assert spans.take() == {}


def test_spans_count_each_block_and_sum_its_time_while_on():
    spans.enable(True)
    try:
        for _ in range(3):
            with spans.span("load"):
                time.sleep(0.001)
        spans.add("upstream", time.perf_counter() - 0.5)
        got = spans.take()
    finally:
        spans.enable(False)
    assert got["load"][1] == 3 and got["load"][0] >= 0.003
    assert got["upstream"][1] == 1 and got["upstream"][0] >= 0.5
    assert spans.take() == {}
