"""Figures the hot-path benches print: percentiles, interleaved rounds, and the
per-call breakdown from chalicelib.spans.

    samples = interleave({"app": call_app, "direct": call_direct}, n=2000, rounds=4)
    report_breakdown(call_app, n=500, total_label="app", parts=[...])
"""
from __future__ import annotations

import os
import statistics
import time
from typing import Callable, Sequence


def discarding_sink() -> Callable[[str], None]:
    """An observability sink that writes the log lines to /dev/null (their cost stays, the noise goes)."""
    out = open(os.devnull, "w")

    def sink(text: str) -> None:
        out.write(text + "\n")

    return sink


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[max(0, min(len(values) - 1, int(round(q * (len(values) - 1)))))]


def p50(values: list[float]) -> float:
    return statistics.median(values)


def interleave(calls: dict[str, Callable[[], object]], n: int, rounds: int = 4,
               batch: bool = False) -> dict[str, list[float]]:
    """Each call `n` times in ms, interleaved so every one sees the same machine noise:
    call by call, or (batch=True) in `rounds` batches of n/rounds each."""
    out: dict[str, list[float]] = {k: [] for k in calls}
    if not batch:
        for _ in range(n):
            for name, fn in calls.items():
                t = time.perf_counter()
                fn()
                out[name].append((time.perf_counter() - t) * 1000)
        return out
    for _ in range(rounds):
        for name, fn in calls.items():
            for _ in range(n // rounds):
                t = time.perf_counter()
                fn()
                out[name].append((time.perf_counter() - t) * 1000)
    return out


def line(label: str, values: list[float], extra: str = "") -> str:
    return f"{label:<34} p50 {p50(values):7.3f} ms  p95 {pct(values, .95):7.3f} ms{extra}"


def breakdown(fn: Callable[[], object], n: int, parts: Sequence[tuple[str, str | None]],
              direct_ms: float | None = None) -> list[str]:
    """Run `fn` n times with the spans on and answer the lines of the per-call
    breakdown (mean us per call). `parts`: (span name, the span it is nested in
    or None); nested spans are subtracted from their parent, the rest of the
    call is shown as framework time."""
    from chalicelib import spans
    spans.enable(True)
    try:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        total = (time.perf_counter() - t0) / n * 1e6
        got = spans.take()
    finally:
        spans.enable(False)
    per = {name: got.get(name, (0.0, 0))[0] / n * 1e6 for name, _ in parts}
    own = dict(per)
    for name, parent in parts:
        if parent is not None:
            own[parent] -= per[name]
    lines = [f"  breakdown, mean per call over {n} calls (spans on), us:"]
    top = 0.0
    for name, parent in parts:
        lines.append(f"    {name + (' (in ' + parent + ')' if parent else ''):<34} {own[name]:8.1f}")
        top += per[name] if parent is None else 0.0
    lines.append(f"    {'framework (routing, middleware, JSON)':<34} {total - top:8.1f}")
    lines.append(f"    {'total':<34} {total:8.1f}")
    if direct_ms is not None:
        lines.append(f"    {'of which the direct call (p50)':<34} {direct_ms * 1000:8.1f}")
    return lines
