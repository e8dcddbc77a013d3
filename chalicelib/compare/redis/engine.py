"""Redis comparison: two environments, seed 003's answer (section 2.2.1).

    from chalicelib.compare.redis import compare_redis, RedisCompareRequest
    answer = compare_redis(RedisCompareRequest.model_validate(body),
                           progress=lambda done, total, stage: ...,
                           log=lambda level, message: ...)

Flow: connect both sides at once (standalone or cluster, detected) ->
keys (`specified`, or `sample` by SCAN on the source side) -> batches read
from both sides at once (per-node pipelines) -> compare key by key (paged
for big values) -> keys that differ are read again after a short delay,
up to `recheck_rounds` times; only lasting differences are reported and
the others counted as transient -> ReportBuilder answer plus
cluster_stats and performance_summary.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional

from chalicelib.compare.core import Progress, ProgressCallback, ReportBuilder
from chalicelib.compare.core.binary import key_from_request
from chalicelib.compare.core.values import as_text

from .collections import PagedComparer
from .compare import L1, L2, Outcome, compare_key, emit, ttl_differs
from .config import CompareOptions, RedisCompareRequest, RedisSideConfig
from .reader import NodeFailure, read_keys
from .sampling import sample_keys
from .topology import Side, connect_side

LogFn = Callable[[str, str], None]


def _no_log(level: str, message: str) -> None:
    return None


def connect_both(c1: RedisSideConfig, c2: RedisSideConfig, log: LogFn = _no_log) -> tuple[Side, Side]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        f1 = pool.submit(connect_side, L1, c1)
        f2 = pool.submit(connect_side, L2, c2)
        results: list[Side] = []
        errors: list[Exception] = []
        for f in (f1, f2):
            try:
                results.append(f.result())
            except Exception as exc:  # noqa: BLE001 - re-raised below after cleanup
                errors.append(exc)
    if errors:
        for s in results:
            s.close()
        raise errors[0]  # the caller's ComparisonRun logs it as ERROR
    s1, s2 = results
    for s in (s1, s2):
        down = [f"{n.host}:{n.port}" for n in s.nodes_status if n.status != "connected"]
        log("INFO", f"{s.label} '{s.config.name}': {s.mode}, {len(s.clients)} "
                    f"{'master' if len(s.clients) == 1 else 'masters'}")
        if down:
            log("WARNING", f"{s.label} '{s.config.name}': unreachable nodes {', '.join(down)}")
    return s1, s2


def compare_redis(
    req: RedisCompareRequest,
    progress: Optional[ProgressCallback] = None,
    log: Optional[LogFn] = None,
) -> dict:
    log = log or _no_log
    opts: CompareOptions = req.options()
    prog = Progress(progress)
    t0 = time.perf_counter()
    prog.update(0, 0, "connecting", force=True)
    c1, c2 = req.sides()
    log("INFO", f"Starting Redis comparison ({req.query_mode} mode) between '{c1.name}' and '{c2.name}'")
    side1, side2 = connect_both(c1, c2, log)
    try:
        sample_info = None
        if req.query_mode == "sample":
            sc = req.sample_config
            src = [side1, side2] if sc.source_cluster == "both" else [side1 if sc.source_cluster == L1 else side2]
            keys, failed, drawn = sample_keys(src, sc)
            sample_info = {"source_cluster": sc.source_cluster, "pattern": sc.pattern,
                           "requested": sc.count, "sampled": len(keys), **drawn}
            if failed:
                sample_info["failed_nodes"] = failed
                log("WARNING", f"Sampling skipped unreachable nodes {', '.join(failed)}")
            log("INFO", f"Sampled {len(keys)} of {drawn['population']} keys from {sc.source_cluster} with "
                        f"pattern '{sc.pattern}' (seed {drawn['seed']})")
        else:
            keys = list(dict.fromkeys(key_from_request(k) for k in req.keys))
            log("INFO", f"Comparing {len(keys)} specified keys")
        answer = run_comparison(side1, side2, keys, opts, prog, log)
        elapsed = time.perf_counter() - t0
        total_bytes = side1.bytes_read + side2.bytes_read
        out: dict[str, Any] = {
            "total_keys": answer.pop("total_keys"),
            "cluster1_found": answer.pop("cluster1_found"),
            "cluster2_found": answer.pop("cluster2_found"),
            "differences": answer.pop("differences"),
            "identical": answer.pop("identical"),
            "missing_in_cluster1": answer.pop("missing_in_cluster1"),
            "missing_in_cluster2": answer.pop("missing_in_cluster2"),
            "cluster_stats": {L1: side1.stats(), L2: side2.stats()},
            "performance_summary": {
                "total_execution_time": round(elapsed, 4),
                "keys_per_second": round(len(keys) / elapsed, 2) if elapsed > 0 else 0.0,
                "data_transferred_kb": round(total_bytes / 1024.0, 2),
                "round_trips": side1.round_trips + side2.round_trips,
            },
            "query_mode": req.query_mode,
        }
        if sample_info:
            out["sample_info"] = sample_info
        out.update(answer)
        log("INFO", out["summary"]["overview"])
        if out["summary"]["counts"].get("skipped_keys"):
            log("WARNING", f"{out['summary']['counts']['skipped_keys']} keys could not be read")
        prog.update(len(keys), len(keys), "done", force=True)
        return out
    finally:
        for s in (side1, side2):
            if s._pool is not None:
                s._pool.shutdown(wait=False)
            s.close()


def run_comparison(side1: Side, side2: Side, keys: list, opts: CompareOptions,
                   prog: Progress | None = None, log: LogFn = _no_log) -> dict:
    """Compare `keys` between two connected sides; the ReportBuilder answer
    plus cluster1_found / cluster2_found / transient_dropped."""
    prog = prog or Progress(None)
    rb = ReportBuilder(L1, L2, identical_name="identical", category_name="value_type",
                       max_value_chars=opts.max_value_chars, max_listed=opts.max_listed,
                       include_identical=opts.include_identical, compare_mode=opts.compare_mode)
    paged = PagedComparer(side1, side2, opts)
    ttl, tol = opts.compare_ttl, opts.ttl_tolerance_seconds
    found = [0, 0]
    transient = 0
    total = len(keys)
    done = 0
    pending = keys
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="redis-sides") as pool:
        for rnd in range(opts.recheck_rounds + 1):
            final = rnd == opts.recheck_rounds
            if rnd:
                time.sleep(opts.recheck_delay_seconds)
                log("INFO", f"Recheck round {rnd}: reading {len(pending)} differing keys again")
            next_pending: list = []
            bs = opts.batch_size
            for i in range(0, len(pending), bs):
                batch = pending[i:i + bs]
                f1 = pool.submit(read_keys, side1, batch, opts)
                st2 = read_keys(side2, batch, opts)
                st1 = f1.result()
                for k in batch:
                    s1, s2 = st1[k], st2[k]
                    if (s1.type == "string" and s2.type == "string" and s1.value == s2.value
                            and not s1.paged and not s2.paged and not rb.wants_identical_listing()
                            and (not ttl or not ttl_differs(s1.ttl_ms, s2.ttl_ms, tol))):
                        # equal strings, the bulk of most runs: count them and move on
                        found[0] += 1
                        found[1] += 1
                        if rnd:
                            transient += 1
                            rb.note("transient_dropped")
                        rb.add_identical(as_text(k), None, category="string")
                        continue
                    try:
                        o = compare_key(k, s1, s2, opts, paged)
                    except NodeFailure as exc:
                        o = Outcome(key=k, status="skipped", found1=s1.exists, found2=s2.exists,
                                    reason=f"node {exc.node} failed during paged read: {exc.detail}")
                    if o.status == "different" and not final:
                        next_pending.append(k)
                        continue
                    if o.status == "identical" and rnd:
                        transient += 1
                        rb.note("transient_dropped")
                    o.key = as_text(k)
                    found[0] += o.found1
                    found[1] += o.found2
                    emit(rb, o, s1, opts)
                if rnd == 0:
                    done += len(batch)
                    prog.update(done, total, "comparing")
                else:
                    prog.update(done, total, f"recheck {rnd}")
            pending = next_pending
            if not pending:
                break
    if transient:
        log("INFO", f"{transient} differences disappeared on recheck (transient)")
    answer = rb.build(total_keys=total)
    answer["cluster1_found"], answer["cluster2_found"] = found
    answer["transient_dropped"] = transient
    return answer
