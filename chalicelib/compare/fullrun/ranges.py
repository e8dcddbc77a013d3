"""Cassandra segments: token ranges of the ring, and running one as a job.

A run splits the Murmur3 ring into `split_count` ranges (also cut at every
ring token). A range job reads production's rows of its range in token
order (`page_size` rows per page) and closes a *window* (cursor, b] once it
holds `step_rows` rows and the token changes, so a partition is never cut,
however wide. Test's rows of the same window are read, both sides are
compared row by row and field by field (rows only on either side are
missing in the other), and the window's differences, counts and new cursor
b are committed in one step (journal.commit_step). After `slice_seconds`
the job enqueues its continuation; a new job re-reads from the committed
cursor. Memory is one window of rows per side.
"""
from __future__ import annotations

import time
from typing import Callable

from . import cassandra_side as cs
from . import journal
from .ratelimit import limiters
from .redis_side import SideFailure


def plan(pro_sess, split_count: int) -> list[dict]:
    out = []
    ranges = cs.split(cs.ring_tokens(pro_sess), split_count)
    width = len(str(len(ranges)))
    for i, (a, b) in enumerate(ranges):
        out.append({"segment_id": f"range/{i:0{width}d}", "side": "both", "node": f"({a},{b}]", "scan_type": None,
                    "estimated_keys": 0, "cursor_pos": str(a)})
    return out


def bounds(seg: dict) -> tuple[int, int]:
    a, b = seg["node"].strip("(]").split(",")
    return int(a), int(b)


def fraction_done(seg: dict) -> float:
    a, b = bounds(seg)
    if seg["state"] == "done":
        return 1.0
    return max(0.0, min(1.0, (int(seg["cursor_pos"]) - a) / (b - a))) if b > a else 1.0


class RangeWorker:
    def __init__(self, run_id: str, seg: dict, spec: dict, run_opts: dict, *,
                 clock: Callable[[], float] = time.monotonic, heartbeat: Callable[[], None] = lambda: None):
        self.run_id, self.seg, self.spec, self.run_opts = run_id, seg, spec, run_opts
        self.clock, self.heartbeat = clock, heartbeat
        rates = run_opts.get("max_ops_per_second") or {}
        self.limit = limiters(run_id, {"cluster1": rates.get("cluster1"), "cluster2": rates.get("cluster2")})

    def _window(self, test: cs.RangeReader, a: int, b: int, pro_rows: list) -> cs.WindowResult:
        try:
            test_rows = list(test.rows(a, b))
        except Exception as exc:  # noqa: BLE001 - the test side failing pauses the run
            raise SideFailure("test", f"test '{self.spec['test'].cluster_name}': range read failed: {exc}") from exc
        return cs.compare_window(pro_rows, test_rows, self.spec["pk"] + self.spec["ck"], self.spec["fields"],
                                 self.spec["exclude"], self.spec.get("compare_mode") or "exact")

    def _commit(self, step: int, b: int, final: bool, pro_rows: list, w: cs.WindowResult) -> bool:
        ok, _ = journal.commit_step(
            self.run_id, self.seg["segment_id"], self.seg["generation"], step, cursor=b, final=final,
            scanned=len(pro_rows), compared=w.compared, identical=w.identical, skipped=0,
            stats={"notes": w.notes} if w.notes else {}, differences=[cs.difference_row(d) for d in w.differences])
        return ok

    def run(self) -> str:
        from chalicelib.compare.cassandra.sessions import get_session
        spec, opts = self.spec, self.run_opts
        deadline = self.clock() + float(opts["slice_seconds"])
        pro_sess = get_session(spec["pro"], "pro")
        test_sess = None
        try:
            test_sess = get_session(spec["test"], "test")
            pro = cs.RangeReader(pro_sess, spec["pro"], spec["pk"], spec["ck"], spec["fields"], opts["page_size"],
                                 spec.get("consistency"), before_page=self.limit["cluster1"].take)
            test = cs.RangeReader(test_sess, spec["test"], spec["pk"], spec["ck"], spec["fields"], opts["page_size"],
                                  spec.get("consistency"), before_page=self.limit["cluster2"].take)
            start, end = bounds(self.seg)
            a, step = int(self.seg["cursor_pos"]), int(self.seg["step"])
            window: list = []
            rows = pro.rows(a, end)
            while True:
                try:
                    item = next(rows, None)
                except Exception as exc:  # noqa: BLE001 - any driver failure pauses the run as a side failure
                    raise SideFailure("pro", f"pro '{spec['pro'].cluster_name}': range read failed: {exc}") from exc
                if item is not None and (len(window) < opts["step_rows"] or item[0] == window[-1][0]):
                    window.append(item)
                    continue
                final = item is None
                b = end if final else window[-1][0]
                self.heartbeat()
                w = self._window(test, a, b, window)
                if not self._commit(step, b, final, window, w):
                    return "lost"
                if final:
                    return "done"
                a, step, window = b, step + 1, [item]
                if self.clock() >= deadline or journal.run_state(self.run_id) != "running":
                    return "continue" if journal.run_state(self.run_id) == "running" else "stopped"
        finally:
            pro_sess.release()
            if test_sess is not None:
                test_sess.release()
