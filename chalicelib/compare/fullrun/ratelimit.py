"""`max_ops_per_second` per side, shared by every worker of a run.

Workers are separate containers, so the budget lives in the project's
PostgreSQL: one row per (run, side) holding a token balance. Taking `n`
operations is one atomic UPDATE that refills the balance for the time since
the last take (never above zero: no burst is saved up) and subtracts `n`;
a negative balance is a debt the caller sleeps off before sending its
commands. Concurrent workers queue up behind each other's debt, so the
commands sent to a side never run ahead of `rate x elapsed`.

    limiter = SideLimiter(run_id, "cluster1", 2000, sleep=time.sleep)
    limiter.take(500)          # blocks until 500 commands may be sent
"""
from __future__ import annotations

import time
from typing import Callable

from chalicelib.db import get_db


class SideLimiter:
    def __init__(self, run_id: str, side: str, rate: float | None, sleep: Callable[[float], None] = time.sleep):
        self.run_id, self.side, self.rate, self.sleep = run_id, side, rate, sleep
        self.waited_s = 0.0

    def take(self, n: int) -> float:
        """Reserve n operations; returns the seconds slept."""
        if not self.rate or n <= 0:
            return 0.0
        balance = get_db().scalar(
            """INSERT INTO compare_full_rate AS r (run_id, side, tokens, refilled_at)
               VALUES (CAST(:run AS uuid), :side, -CAST(:n AS double precision), clock_timestamp())
               ON CONFLICT (run_id, side) DO UPDATE SET
                   tokens = LEAST(0, r.tokens + :rate * EXTRACT(EPOCH FROM clock_timestamp() - r.refilled_at))
                            - CAST(:n AS double precision),
                   refilled_at = clock_timestamp()
               RETURNING tokens""",
            run=self.run_id, side=self.side, n=float(n), rate=float(self.rate))
        wait = -float(balance) / self.rate if balance < 0 else 0.0
        if wait > 0:
            self.sleep(wait)
            self.waited_s += wait
        return wait


def limiters(run_id: str, rates: dict) -> dict[str, SideLimiter]:
    return {side: SideLimiter(run_id, side, rates.get(side)) for side in ("cluster1", "cluster2")}
