"""Cassandra segments: token ranges of the ring, and running one as a job.

A run splits the Murmur3 ring into `split_count` ranges (also cut at every
ring token). A range job reads production's rows of its range in token
order (`page_size` rows per page) and closes a *window* (cursor, b] once it
holds `step_rows` rows and the token changes, so a partition is never cut,
however wide. Test's rows of the same window are read, both sides are
compared row by row and field by field (rows only on either side are
missing in the other). The rows that differ are read again by primary key
`recheck_rounds` times with the Cassandra engine's recheck (the first time
after the next window has been read, so the delay overlaps work), and only
then are the window's lasting differences, counts and new cursor b
committed in one step (journal.commit_step). Both reads and rechecks use
the run's `consistency_level`, else each side's own. After `slice_seconds`
the job enqueues its continuation; a new job re-reads from the committed
cursor. Memory is one window of rows per side plus the previous window's
differing rows.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
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


@dataclass
class _Step:
    """A window compared, waiting for its recheck and commit."""
    number: int
    cursor: int
    final: bool
    scanned: int
    window: cs.Window


class RangeWorker:
    def __init__(self, run_id: str, seg: dict, spec: dict, run_opts: dict, *,
                 clock: Callable[[], float] = time.monotonic, heartbeat: Callable[[], None] = lambda: None):
        self.run_id, self.seg, self.spec, self.run_opts = run_id, seg, spec, run_opts
        self.clock, self.heartbeat = clock, heartbeat
        rates = run_opts.get("max_ops_per_second") or {}
        self.limit = limiters(run_id, {"cluster1": rates.get("cluster1"), "cluster2": rates.get("cluster2")})
        self.key_cols = spec["pk"] + spec["ck"]
        self.rounds = int(spec.get("recheck_rounds") or 0)  # runs created before rechecks existed had none
        self.points: dict = {}

    def consistency(self, side: str) -> str:
        """The run's consistency level, else the side's own (range reads and rechecks alike)."""
        return self.spec.get("consistency") or self.spec[side].consistency_level

    def _window(self, test: cs.RangeReader, a: int, b: int, pro_rows: list) -> cs.Window:
        try:
            test_rows = list(test.rows(a, b))
        except Exception as exc:  # noqa: BLE001 - the test side failing pauses the run
            raise SideFailure("test", f"test '{self.spec['test'].cluster_name}': range read failed: {exc}") from exc
        return cs.compare_window(pro_rows, test_rows, self.key_cols, self.spec["fields"], self.spec["exclude"],
                                 self.spec.get("compare_mode") or "exact", read_at=time.monotonic())

    def _reread(self, keys: dict) -> tuple[dict, dict]:
        """Both sides' rows of `keys` read again by primary key, within the run's rate limit."""
        out = []
        for side, bucket in (("pro", "cluster1"), ("test", "cluster2")):
            self.limit[bucket].take(len(keys))
            if side not in self.points:
                self.points[side] = cs.PointReader(side, self.spec[side], self.key_cols, self.spec["fields"],
                                                   self.consistency(side))
            out.append(self.points[side].rows(keys))
        return out[0], out[1]

    def _commit(self, st: _Step) -> bool:
        """Recheck the window's differing rows (the delay has run while the next window was
        read), then commit its cursor, counts and lasting differences in one step."""
        cs.recheck_window(st.window, self.key_cols, self.rounds, float(self.spec.get("recheck_delay_seconds") or 0),
                          self._reread)
        w = cs.window_result(st.window)
        ok, _ = journal.commit_step(
            self.run_id, self.seg["segment_id"], self.seg["generation"], st.number, cursor=st.cursor, final=st.final,
            scanned=st.scanned, compared=w.compared, identical=w.identical, skipped=0,
            stats={"notes": w.notes} if w.notes else {}, differences=[cs.difference_row(d) for d in w.differences])
        return ok

    def run(self) -> str:
        """'done' | 'continue' | 'stopped' | 'lost', as SegmentWorker.run."""
        from chalicelib.compare.cassandra.sessions import get_session
        spec, opts = self.spec, self.run_opts
        deadline = self.clock() + float(opts["slice_seconds"])
        pro_sess = get_session(spec["pro"], "pro")
        test_sess = None
        try:
            test_sess = get_session(spec["test"], "test")
            pro = cs.RangeReader(pro_sess, spec["pro"], spec["pk"], spec["ck"], spec["fields"], opts["page_size"],
                                 self.consistency("pro"), before_page=self.limit["cluster1"].take)
            test = cs.RangeReader(test_sess, spec["test"], spec["pk"], spec["ck"], spec["fields"], opts["page_size"],
                                  self.consistency("test"), before_page=self.limit["cluster2"].take)
            start, end = bounds(self.seg)
            a, step = int(self.seg["cursor_pos"]), int(self.seg["step"])
            window: list = []
            prev: _Step | None = None
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
                cur = _Step(step, b, final, len(window), self._window(test, a, b, window))
                if prev is not None and not self._commit(prev):  # the previous window, once this one is read
                    return "lost"
                prev = cur
                if final:
                    return "done" if self._commit(prev) else "lost"
                a, step, window = b, step + 1, [item]
                if self.clock() >= deadline or journal.run_state(self.run_id) != "running":
                    if not self._commit(prev):
                        return "lost"
                    return "continue" if journal.run_state(self.run_id) == "running" else "stopped"
        finally:
            for reader in self.points.values():
                reader.close()
            pro_sess.release()
            if test_sess is not None:
                test_sess.release()
