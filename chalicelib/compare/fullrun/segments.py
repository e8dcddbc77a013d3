"""Redis segments: planning them, and running one as a job.

A segment is one SCAN walk of one master node of one side (and of one type
when the run names `types`: SCAN ... TYPE t). Both sides are walked:

* a cluster1 segment reads its keys on both sides and compares them (every
  kind of difference, and keys missing in cluster2);
* a cluster2 segment only looks for keys cluster1 lacks (EXISTS there) and
  records them as missing in cluster1; keys present on both are compared by
  the cluster1 segments, so nothing is counted twice.

A job works on its segment in *steps* of about `step_keys` keys (SCAN pages
of `scan_count`). A step is compared at once; the keys that differ are read
again `recheck_rounds` times, the first time after the next step has been
read (so the recheck delay overlaps useful work), and only then is the step
committed: cursor, counts and lasting differences in one transaction
(journal.commit_step). After `slice_seconds` the job enqueues its
continuation (same segment, idempotency key per step) and returns, so no job
runs near the Lambda timeout. Memory is two steps' keys, whatever the size
of the dataset.

A side that fails (node down, SCAN refused) pauses the run: the segment is
marked failed with the reason and the other segments stop at their next
step; `resume` re-runs what is unfinished.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from . import journal, redis_side
from .ratelimit import limiters
from .redis_side import L1, L2, SideFailure

log = logging.getLogger("stepflow.compare.fullrun")
JOB_TYPE = "compare.fullrun.segment"


def segment_id(side: str, node: str, scan_type: str | None) -> str:
    return f"{side}/{node}" + (f"/{scan_type}" if scan_type else "")


def plan(s1, s2, types: list[str] | None) -> list[dict]:
    out = []
    for side in (s1, s2):
        for node in redis_side.masters(side):
            est = redis_side.dbsize(side, node)
            kinds: list[str | None] = list(types) if types else [None]
            for t in kinds:
                out.append({"segment_id": segment_id(side.label, node, t), "side": side.label, "node": node,
                            "scan_type": t, "estimated_keys": est if t is None else 0})
    return out


@dataclass
class Step:
    number: int
    cursor_after: int
    scanned: int = 0
    compared: int = 0
    identical: int = 0
    skipped: int = 0
    final_diffs: list = field(default_factory=list)
    candidates: list = field(default_factory=list)
    read_at: float = 0.0
    stats: dict = field(default_factory=dict)

    def add_batch(self, b: redis_side.BatchResult, count_identical: bool = True) -> None:
        if count_identical:
            self.identical += b.identical
            for t, n in b.identical_by_type.items():
                self.stats.setdefault("identical_by_type", {})
                self.stats["identical_by_type"][t] = self.stats["identical_by_type"].get(t, 0) + n
        for name, n in b.notes.items():
            self.stats.setdefault("notes", {})
            self.stats["notes"][name] = self.stats["notes"].get(name, 0) + n
        if b.skipped:
            self.skipped += len(b.skipped)
            reasons = self.stats.setdefault("skipped_reasons", {})
            for s in b.skipped:
                r = str(s.get("reason"))[:200]
                reasons[r] = reasons.get(r, 0) + 1


def difference_row(item: dict) -> dict:
    return {"key": str(item.get("key")), "difference_type": item.get("difference_type"),
            "value_type": item.get("value_type"), "missing_in": item.get("missing_in"), "detail": item}


class SegmentWorker:
    """Runs one segment from its checkpoint until done, paused, or the slice ends."""

    def __init__(self, run_id: str, seg: dict, req, run_opts: dict, *, clock: Callable[[], float] = time.monotonic,
                 heartbeat: Callable[[], None] = lambda: None):
        self.run_id, self.seg, self.req, self.run_opts = run_id, seg, req, run_opts
        self.opts = req.options()
        self.clock, self.heartbeat = clock, heartbeat
        self.limit = limiters(run_id, run_opts.get("max_ops_per_second") or {})
        self.s1: Any = None
        self.s2: Any = None

    # ------------------------------------------------------------ reading
    def _read_step(self, number: int, cursor: int) -> Step:
        side = self.s1 if self.seg["side"] == L1 else self.s2
        step_keys, count = self.run_opts["step_keys"], self.run_opts["scan_count"]
        keys: list = []
        while True:
            self.limit[side.label].take(1)
            cursor, page = redis_side.scan(side, self.seg["node"], cursor, self.run_opts["pattern"], count,
                                           self.seg["scan_type"])
            keys.extend(page)
            if cursor == 0 or len(keys) >= step_keys:
                break
        keys = list(dict.fromkeys(keys))
        st = Step(number=number, cursor_after=cursor, scanned=len(keys), read_at=self.clock())
        rounds = self.opts.recheck_rounds
        per_key = redis_side.commands_per_key(self.opts)
        if self.seg["side"] == L1:
            self._take_both(len(keys) * per_key)
            b = redis_side.compare_batch(self.s1, self.s2, keys, self.opts, 0, 0)
            self._charge_extra(b, len(keys))
            st.compared = len(keys)
            st.add_batch(b)
            if rounds:
                st.candidates = raw_keys([d["key"] for d in b.differences], keys)
            else:
                st.final_diffs = [difference_row(d) for d in b.differences]
        else:
            self.limit[L1].take(len(keys))
            absent = redis_side.absent_on(self.s1, keys)
            if rounds:
                st.candidates = absent
            else:
                self._finish_cluster2(st, absent, 0)
        return st

    def _take_both(self, n: int) -> None:
        self.limit[L1].take(n)
        self.limit[L2].take(n)

    def _charge_extra(self, b: redis_side.BatchResult, n_keys: int) -> None:
        # collections cost a TYPE and a bounded read beyond round A
        non_strings = sum(v for t, v in b.identical_by_type.items() if t != "string")
        non_strings += sum(1 for d in b.differences if d.get("value_type") not in (None, "string"))
        if non_strings:
            self._take_both(2 * non_strings)

    def _finish_cluster2(self, st: Step, absent: list, rounds: int) -> None:
        if not absent:
            return
        self._take_both(len(absent) * redis_side.commands_per_key(self.opts) * (rounds + 1))
        b = redis_side.compare_batch(self.s1, self.s2, absent, self.opts, rounds, self.opts.recheck_delay_seconds)
        found = [d for d in b.differences if d.get("difference_type") == "missing" and d.get("missing_in") == L1]
        st.add_batch(redis_side.BatchResult(skipped=b.skipped, notes=b.notes), count_identical=False)
        st.final_diffs = [difference_row(d) for d in found]
        st.compared = len(found)
        if len(found) < len(absent):
            n = len(absent) - len(found)
            st.stats.setdefault("notes", {})
            st.stats["notes"]["transient_dropped"] = st.stats["notes"].get("transient_dropped", 0) + n

    def _recheck(self, st: Step) -> None:
        """Read the step's differing keys again (recheck_rounds) after the delay."""
        if not st.candidates:
            return
        wait = st.read_at + self.opts.recheck_delay_seconds - self.clock()
        if wait > 0:
            time.sleep(wait)
        rounds = self.opts.recheck_rounds - 1
        if self.seg["side"] == L2:
            self._finish_cluster2(st, st.candidates, rounds)
            return
        self._take_both(len(st.candidates) * redis_side.commands_per_key(self.opts) * (rounds + 1))
        b = redis_side.compare_batch(self.s1, self.s2, st.candidates, self.opts, rounds,
                                     self.opts.recheck_delay_seconds)
        st.add_batch(b)  # keys identical now were transient: identical, and noted
        if b.identical:
            st.stats.setdefault("notes", {})
            st.stats["notes"]["transient_dropped"] = st.stats["notes"].get("transient_dropped", 0) + b.identical
        st.final_diffs = [difference_row(d) for d in b.differences]

    def _commit(self, st: Step) -> bool:
        self._recheck(st)
        ok, _ = journal.commit_step(
            self.run_id, self.seg["segment_id"], self.seg["generation"], st.number, cursor=st.cursor_after,
            final=st.cursor_after == 0, scanned=st.scanned, compared=st.compared, identical=st.identical,
            skipped=st.skipped, stats=st.stats, differences=st.final_diffs)
        return ok

    # ------------------------------------------------------------ the slice
    def run(self) -> str:
        """'done' | 'continue' | 'stopped' (run no longer running) | 'lost' (someone else moved on)."""
        deadline = self.clock() + float(self.run_opts["slice_seconds"])
        try:
            self.s1, self.s2 = redis_side.connect(self.req)
            for side in (self.s1, self.s2):
                why = redis_side.failing(side)
                if why:
                    raise SideFailure(side.label, why)
            own = self.s1 if self.seg["side"] == L1 else self.s2
            if self.seg["node"] in own.clients:
                seg = journal.bind_node(self.run_id, self.seg["segment_id"], self.seg["generation"],
                                        redis_side.instance_id(own, self.seg["node"]))
                if seg is None:
                    return "lost"
                if seg["restarts"] != self.seg["restarts"]:
                    log.warning("compare run %s: %s restarted since its last step; walking it again",
                                self.run_id, self.seg["node"])
                self.seg = seg
            number, cursor = int(self.seg["step"]), int(self.seg["cursor_pos"])
            if number and cursor == 0:
                return "done"
            prev: Step | None = None
            while True:
                self.heartbeat()
                cur = self._read_step(number, cursor)
                if prev is not None and not self._commit(prev):
                    return "lost"
                prev, number, cursor = cur, number + 1, cur.cursor_after
                if cursor == 0 or self.clock() >= deadline or journal.run_state(self.run_id) != "running":
                    break
            if not self._commit(prev):
                return "lost"
            if cursor == 0:
                return "done"
            return "continue" if journal.run_state(self.run_id) == "running" else "stopped"
        finally:
            redis_side.close(self.s1, self.s2)


def raw_keys(texts: list[str], keys: list) -> list:
    """The scanned (bytes) keys behind the engine's display texts of them."""
    from chalicelib.compare.core.values import as_text
    if not texts:
        return []
    page = set(keys)
    out: list = []
    rest: list = []
    for t in texts:
        b = t.encode("utf-8", "surrogateescape") if isinstance(t, str) else t
        (out if b in page and as_text(b) == t else rest).append(b if b in page else t)
    if rest:
        wanted = set(rest)
        out.extend(k for k in keys if as_text(k) in wanted)
    return out
