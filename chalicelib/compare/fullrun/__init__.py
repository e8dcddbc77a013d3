"""Whole-dataset comparison runs (DESIGN decision 19).

A run splits both sides of a comparison into segments (Redis: one SCAN walk
per master node and side), each a job on the jobs system (low priority by
default), so that in AWS the queue's Lambda workers fan it out. A journal
in PostgreSQL makes runs resumable and idempotent, a shared rate limit
protects each side, and differences are written as they are found.

    routes      /api/compare-runs (Blueprint) and the segment job type
    service     create / view / cancel / resume, the segment job handler
    segments    planning segments; SegmentWorker runs one from its checkpoint
    journal     SQL of runs, segments, differences (migration 060)
    redis_side  the calls into chalicelib.compare.redis, in one place
    ratelimit   max_ops_per_second per side, shared through PostgreSQL
    summary     seed 003's summary from the journal's aggregates
    export      CSV / JSON Lines pages of every difference
    workers     `python -m chalicelib.compare.fullrun.workers`: a local SQS worker process
"""
