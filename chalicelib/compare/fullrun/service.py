"""Whole-dataset runs: create, show (progress, rate, ETA), cancel, resume, and
the segment job handler.

    run = create(body, created_by)     # connects both sides, plans segments, queues one job each
    view(run_id)                       # state, progress, rate, ETA; summary when finished
    cancel(run_id) / resume(run_id)

The run's request is stored sealed (it holds passwords) and every segment
job reads it from the run row; job payloads hold ids only.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from chalicelib.errors import AppError, Conflict, NotFound

from . import journal

log = logging.getLogger("stepflow.compare.fullrun")
JOB_TYPE = "compare.fullrun.segment"
RESUMABLE = ("paused", "cancelled", "failed")


def _redis_request(extra: dict):
    """The Redis engine's request model, filled from a config group when named."""
    from chalicelib.compare.redis.service import resolve_request
    data = dict(extra)
    data["query_mode"] = "sample"  # the engine's model needs a mode; a run walks every key
    data.pop("keys", None)
    data.pop("sample_config", None)
    return resolve_request(data)


def _sealed_request(req, run_opts: dict) -> Any:
    from chalicelib.secrets import get_box
    full = req.model_dump(mode="json", by_alias=True)
    full["cluster1_config"]["password"] = req.cluster1_config.password_value()
    full["cluster2_config"]["password"] = req.cluster2_config.password_value()
    full["async"] = False
    return get_box().seal({"redis": full, "run": run_opts})


def open_request(run: dict) -> tuple[Any, dict]:
    """(Redis request model, or the Cassandra spec; run options) of a stored run."""
    from chalicelib.secrets import get_box
    body = get_box().unseal(run["request"])
    if run["engine"] == "cassandra":
        from .cassandra_run import open_spec
        return open_spec(body["cassandra"]), body["run"]
    from chalicelib.compare.redis.config import RedisCompareRequest
    return RedisCompareRequest.model_validate(body["redis"]), body["run"]


def _create_cassandra(body, created_by: str | None) -> dict:
    from chalicelib.db import get_db
    from chalicelib.secrets import get_box

    from .cassandra_run import prepare
    run_opts = body.run_options()
    spec, public, segs, group_id = prepare(body.model_extra or {}, run_opts)
    db = get_db()
    with db.transaction():
        run = journal.insert_run(
            engine="cassandra", name=body.name or f"Cassandra {spec['pro']['keyspace']}.{spec['pro']['table']} "
                                                  "(whole table)",
            description=body.description, request=get_box().seal({"cassandra": spec, "run": run_opts}),
            public_config=public, priority=body.priority, config_group_id=group_id, created_by=created_by)
        journal.insert_segments(str(run["id"]), segs)
    rid = str(run["id"])
    _enqueue(rid, journal.segments(rid), body.priority, created_by)
    return view(rid)


def create(body, created_by: str | None = None) -> dict:
    """`body` is a validated models.CreateRun."""
    from . import redis_side
    from .segments import plan
    if body.engine == "cassandra":
        return _create_cassandra(body, created_by)
    req = _redis_request(body.model_extra or {})
    run_opts = body.run_options()
    s1, s2 = redis_side.connect(req)
    try:
        for side in (s1, s2):
            why = redis_side.failing(side)
            if why:
                from chalicelib.errors import ConnectionFailed
                raise ConnectionFailed(f"Redis {why}", {"side": side.label, "error_detail": why})
        segs = plan(s1, s2, body.types)
    finally:
        redis_side.close(s1, s2)
    options = req.options().model_dump()
    public = {"cluster1_config": req.cluster1_config.public(), "cluster2_config": req.cluster2_config.public(),
              "options": options, "run": run_opts}
    from chalicelib.db import get_db
    db = get_db()
    with db.transaction():
        run = journal.insert_run(engine="redis", name=body.name or
                                 f"Redis {req.cluster1_config.name} vs {req.cluster2_config.name} (whole dataset)",
                                 description=body.description, request=_sealed_request(req, run_opts),
                                 public_config=public, priority=body.priority,
                                 config_group_id=req.config_group_id, created_by=created_by)
        journal.insert_segments(str(run["id"]), segs)
    rid = str(run["id"])
    _enqueue(rid, journal.segments(rid), body.priority, created_by)
    return view(rid)


def _enqueue(run_id: str, segs: list[dict], priority: str, created_by: str | None = None) -> None:
    from chalicelib.jobs import submit_job
    for s in segs:
        job = submit_job(JOB_TYPE, {"run_id": run_id, "segment_id": s["segment_id"], "generation": s["generation"]},
                         priority=priority, created_by=created_by,
                         idempotency_key=f"fullrun:{run_id}:{s['segment_id']}:g{s['generation']}:s{s['step']}")
        journal.set_segment_job(run_id, s["segment_id"], str(job["id"]))


def _get(run_id: str, with_request: bool = False) -> dict:
    run = journal.get_run(run_id, with_request)
    if run is None:
        raise NotFound(f"compare run {run_id} not found")
    return run


def view(run_id: str, segments: bool = True) -> dict:
    run = _get(run_id)
    p = journal.progress(run_id)
    elapsed = float(run["active_seconds"] or 0)
    if run["state"] == "running":
        import datetime as dt
        elapsed += max(0.0, (dt.datetime.now(dt.timezone.utc) - run["started_at"]).total_seconds())
    rate = p["keys_compared"] / elapsed if elapsed > 0 else 0.0
    scan_rate = p["keys_scanned"] / elapsed if elapsed > 0 else 0.0
    left = max(0, p["estimated_keys"] - p["keys_scanned"])
    eta = None
    segs = journal.segments(run_id)
    if run["engine"] == "cassandra":  # progress is the share of the ring walked
        from .ranges import fraction_done
        frac = sum(fraction_done(s) for s in segs) / len(segs) if segs else 1.0
        percent = 100.0 if run["state"] == "completed" else round(min(99.9, 100.0 * frac), 1)
        if run["state"] == "running" and 0 < frac < 1:
            eta = round(elapsed * (1 - frac) / frac, 1)
    else:
        percent = 100.0 if run["state"] == "completed" else \
            round(min(99.0, 100.0 * p["keys_scanned"] / p["estimated_keys"]), 1) if p["estimated_keys"] else 0.0
        if run["state"] == "running" and scan_rate > 0:
            eta = round(left / scan_rate, 1)
    out = dict(run)
    out["progress"] = {
        "segments": {"total": p["total"], "done": p["done"], "failed": p["failed"], "running": p["running"]},
        "keys_scanned": p["keys_scanned"], "keys_compared": p["keys_compared"], "identical": p["identical"],
        "differences": p["differences"], "skipped": p["skipped"], "steps": p["steps"],
        "estimated_keys": p["estimated_keys"], "percent": percent,
        "elapsed_seconds": round(elapsed, 3), "keys_per_second": round(rate, 1), "eta_seconds": eta,
    }
    if segments:
        out["segments"] = [{k: s[k] for k in ("segment_id", "side", "node", "scan_type", "state", "step",
                                              "keys_scanned", "keys_compared", "differences", "attempts", "restarts",
                                              "last_error", "job_id")} for s in segs]
    if out.get("summary") is None and run["state"] != "running":
        out["summary"] = summary_of(run_id, run["engine"])
    return out


def summary_of(run_id: str, engine: str | None = None) -> dict:
    from . import summary
    run = _get(run_id)
    pub = run["public_config"] or {}
    if run["engine"] == "cassandra":
        sides, mode = ("pro", "test", "row"), pub.get("compare_mode") or "exact"
    else:
        sides, mode = ("cluster1", "cluster2", "key"), (pub.get("options") or {}).get("compare_mode") or "exact"
    return summary.build(journal.progress(run_id), journal.difference_facts(run_id), *sides, compare_mode=mode)


def list_runs(limit: int, offset: int, state: str | None, engine: str | None) -> tuple[list[dict], int]:
    rows, total = journal.list_runs(limit, offset, state, engine)
    items = []
    for r in rows:
        p = journal.progress(str(r["id"]))
        items.append({**r, "progress": {"segments": {"total": p["total"], "done": p["done"], "failed": p["failed"]},
                                        "keys_compared": p["keys_compared"], "differences": p["differences"]}})
    return items, total


def cancel(run_id: str) -> dict:
    run = _get(run_id)
    if journal.set_run_state(run_id, ("running", "paused"), "cancelled", "cancelled by a user") is None:
        raise Conflict(f"compare run {run_id} is already {run['state']}", {"state": run["state"]})
    from chalicelib.jobs import store as job_store
    for s in journal.segments(run_id):
        if s["state"] != "done" and s["job_id"]:
            job_store.cancel(str(s["job_id"]))  # queued ones never start; running ones stop at their next step
    return view(run_id)


def resume(run_id: str, created_by: str | None = None) -> dict:
    run = _get(run_id)
    if run["state"] not in RESUMABLE:
        raise Conflict(f"compare run {run_id} is {run['state']}: only a paused, cancelled or failed run resumes",
                       {"state": run["state"]})
    from chalicelib.db import get_db
    db = get_db()
    with db.transaction():
        if journal.set_run_state(run_id, RESUMABLE, "running") is None:
            raise Conflict(f"compare run {run_id} changed state meanwhile")
        reopened = journal.reopen_segments(run_id)
    _enqueue(run_id, reopened, run["priority"], created_by)
    if not reopened:
        finish(run_id)
    return view(run_id)


def finish(run_id: str) -> None:
    done = journal.finish_if_done(run_id)
    if done is not None:
        journal.store_summary(run_id, summary_of(run_id))


def pause(run_id: str, reason: str) -> None:
    if journal.set_run_state(run_id, ("running",), "paused", reason) is not None:
        log.warning("compare run %s paused: %s", run_id, reason)


# ------------------------------------------------------------------ the job

def segment_job(ctx) -> dict:
    from chalicelib.jobs import submit_job
    from chalicelib.jobs.registry import MAX_RECEIVE_COUNT, JobCancelled

    from .redis_side import SideFailure
    from .segments import SegmentWorker
    p = ctx.payload
    run_id, seg_id, gen = p["run_id"], p["segment_id"], int(p["generation"])
    run = journal.get_run(run_id, with_request=True)
    if run is None or run["state"] != "running":
        return {"skipped": f"run is {run['state'] if run else 'gone'}"}
    seg = journal.claim_segment(run_id, seg_id, gen)
    if seg is None:
        return {"skipped": "segment finished or taken over by a resume"}
    req, run_opts = open_request(run)
    worker: Any
    if run["engine"] == "cassandra":
        from .ranges import RangeWorker
        worker = RangeWorker(run_id, seg, req, run_opts, heartbeat=ctx.heartbeat)
    else:
        worker = SegmentWorker(run_id, seg, req, run_opts, heartbeat=ctx.heartbeat)
    started = time.perf_counter()
    try:
        outcome = worker.run()
    except SideFailure as exc:
        journal.release_segment(run_id, seg_id, gen, "failed", str(exc))
        pause(run_id, f"Redis {exc.detail}; resume the run when that side is healthy again")
        return {"outcome": "paused", "error": str(exc)}
    except AppError as exc:  # connecting failed (ConnectionFailed names the side)
        journal.release_segment(run_id, seg_id, gen, "failed", exc.message)
        pause(run_id, f"{exc.message}; resume the run when that side is healthy again")
        return {"outcome": "paused", "error": exc.message}
    except JobCancelled:
        journal.release_segment(run_id, seg_id, gen, "pending")
        raise
    except Exception as exc:
        final = ctx.attempt >= MAX_RECEIVE_COUNT
        journal.release_segment(run_id, seg_id, gen, "failed" if final else "running", f"{type(exc).__name__}: {exc}")
        if final:
            finish(run_id)
        raise
    if outcome == "continue":
        cur = next((s for s in journal.segments(run_id) if s["segment_id"] == seg_id), None)
        if cur is not None and cur["generation"] == gen:
            job = submit_job(JOB_TYPE, {"run_id": run_id, "segment_id": seg_id, "generation": gen},
                             priority=run["priority"],
                             idempotency_key=f"fullrun:{run_id}:{seg_id}:g{gen}:s{cur['step']}")
            journal.set_segment_job(run_id, seg_id, str(job["id"]))
    elif outcome == "stopped":
        journal.release_segment(run_id, seg_id, gen, "pending")
    elif outcome == "done":
        finish(run_id)
    return {"outcome": outcome, "seconds": round(time.perf_counter() - started, 3)}
