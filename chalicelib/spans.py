"""Where a request's time goes: named timing spans, for the benchmarks only.

    from chalicelib import spans
    with spans.span("load"):
        target = load_target(...)

Off unless STEPFLOW_SPANS=1 was in the environment when this module was
imported, or `enable()` was called: then `span()` hands back one shared
do-nothing context manager (no clock read, no allocation), so the hot paths
pay one function call per span. On, each span adds its duration to a
process-wide total per name; `take()` answers {name: (total_s, count)} and
starts again. Spans may nest: a bench subtracts the inner from the outer.
Standard library only (`import app` stays light).
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any

_on = os.environ.get("STEPFLOW_SPANS", "") in ("1", "true", "on")
_totals: dict[str, list] = {}
_lock = threading.Lock()


class _Off:
    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


_OFF = _Off()


class _On:
    __slots__ = ("name", "t0")

    def __init__(self, name: str):
        self.name = name
        self.t0 = 0.0

    def __enter__(self) -> None:
        self.t0 = time.perf_counter()

    def __exit__(self, *exc: Any) -> None:
        _count(self.name, time.perf_counter() - self.t0)


def span(name: str) -> Any:
    """A context manager timing the block as `name` (a do-nothing one when off)."""
    return _On(name) if _on else _OFF


def add(name: str, started: float) -> None:
    """Count the time since `started` (a perf_counter reading) as `name`, when on."""
    if _on:
        _count(name, time.perf_counter() - started)


def _count(name: str, took: float) -> None:
    with _lock:
        entry = _totals.get(name)
        if entry is None:
            _totals[name] = [took, 1]
        else:
            entry[0] += took
            entry[1] += 1


def enable(on: bool = True) -> None:
    global _on
    _on = on
    take()


def take() -> dict[str, tuple[float, int]]:
    """The totals since the last take (or enable), then zeroed."""
    with _lock:
        out = {k: (v[0], v[1]) for k, v in _totals.items()}
        _totals.clear()
    return out
