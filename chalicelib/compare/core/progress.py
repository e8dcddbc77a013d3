"""Progress reporting for long comparisons (async jobs show it).

An engine calls `progress.update(done, total, stage)`; the callback the
caller handed in (e.g. a job's progress setter) is called at most every
`min_interval` seconds, and always for the first and the final update, so
a fast loop does not flood the job table.
"""
from __future__ import annotations

import time
from typing import Callable, Optional

ProgressCallback = Callable[[int, int, str], None]


class Progress:
    def __init__(self, callback: Optional[ProgressCallback] = None, min_interval: float = 0.5):
        self.callback = callback
        self.min_interval = min_interval
        self._last = 0.0
        self._started = False

    def update(self, done: int, total: int, stage: str = "comparing", *, force: bool = False) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        if force or not self._started or done >= total or now - self._last >= self.min_interval:
            self._started = True
            self._last = now
            self.callback(int(done), int(total), stage)


def percent(done: int, total: int) -> float:
    return round(100.0 * done / total, 1) if total else 100.0
