"""The journal of whole-dataset runs: SQL on compare_full_runs,
compare_full_segments and compare_full_differences (migration 060).

A segment moves pending -> running -> done | failed. Work on a segment is
fenced by its `generation` (bumped by resume, so a job from before a resume
does nothing) and its `step` (the number of committed steps): `commit_step`
writes a step's cursor, counts and differences in one transaction and only
when the segment is still at the generation and step the worker started
from. A worker that dies before its commit leaves nothing behind; two
workers on one step cannot both count it.

Run states: running, paused (a side failed; `state_reason` says which),
cancelled, completed, failed (segments failed for good); `finish_if_done`
closes a run when its last segment is done, under a lock on the run row.
"""
from __future__ import annotations

import json
from typing import Any

from chalicelib.db import get_db
from chalicelib.db.where import Where

RUN_COLUMNS = ("id, engine, name, description, state, state_reason, public_config, priority, config_group_id, "
               "summary, created_by, created_at, updated_at, started_at, finished_at, active_seconds")
SEG_COLUMNS = ("run_id, segment_id, side, node, scan_type, state, cursor_pos, node_run_id, restarts, step, "
               "generation, attempts, "
               "estimated_keys, keys_scanned, keys_compared, identical, differences, skipped, stats, last_error, "
               "job_id, updated_at, finished_at")
DIFF_COLUMNS = "id, segment_id, key, field, difference_type, value_type, missing_in, detail, created_at"
OPEN_SEGMENT = ("pending", "running", "failed")
MAX_ERROR = 2000


def _j(v: Any) -> str:
    return json.dumps(v, default=str, separators=(",", ":"))


# ------------------------------------------------------------------ runs

def insert_run(*, engine: str, name: str | None, description: str | None, request: Any, public_config: dict,
               priority: str, config_group_id: int | None, created_by: str | None) -> dict:
    row = get_db().one(
        f"""INSERT INTO compare_full_runs (engine, name, description, request, public_config, priority,
                                           config_group_id, created_by)
            VALUES (:engine, :name, :description, CAST(:request AS jsonb), CAST(:public AS jsonb), :priority,
                    :group_id, CAST(:created_by AS uuid))
            RETURNING {RUN_COLUMNS}""",
        engine=engine, name=name, description=description, request=_j(request), public=_j(public_config),
        priority=priority, group_id=config_group_id, created_by=created_by)
    if row is None:
        raise RuntimeError("INSERT ... RETURNING gave no row")
    return row


def insert_segments(run_id: str, segments: list[dict]) -> None:
    get_db().execute(
        """INSERT INTO compare_full_segments (run_id, segment_id, side, node, scan_type, estimated_keys, cursor_pos)
           SELECT CAST(:run AS uuid), s.segment_id, s.side, s.node, s.scan_type, s.estimated_keys,
                  COALESCE(s.cursor_pos, '0')
           FROM jsonb_to_recordset(CAST(:segs AS jsonb))
                AS s(segment_id text, side text, node text, scan_type text, estimated_keys bigint, cursor_pos text)""",
        run=run_id, segs=_j(segments))


def get_run(run_id: str, with_request: bool = False) -> dict | None:
    cols = RUN_COLUMNS + (", request" if with_request else "")
    return get_db().one(f"SELECT {cols} FROM compare_full_runs WHERE id = CAST(:id AS uuid)", id=run_id)


def run_state(run_id: str) -> str | None:
    return get_db().scalar("SELECT state FROM compare_full_runs WHERE id = CAST(:id AS uuid)", id=run_id)


def list_runs(limit: int, offset: int, state: str | None, engine: str | None) -> tuple[list[dict], int]:
    w = Where().when(state, "state = :state", state=state).when(engine, "engine = :engine", engine=engine)
    return get_db().page(f"SELECT {RUN_COLUMNS} FROM compare_full_runs WHERE {w.sql}",
                         order_by="created_at DESC, id", limit=limit, offset=offset, **w.params)


def set_run_state(run_id: str, from_states: tuple, to_state: str, reason: str | None = None) -> dict | None:
    """Conditional state change; the running time is banked when leaving `running`."""
    return get_db().one(
        f"""UPDATE compare_full_runs SET state = CAST(:to AS text), state_reason = :reason, updated_at = NOW(),
                   active_seconds = active_seconds + CASE WHEN state = 'running'
                        THEN EXTRACT(EPOCH FROM NOW() - started_at) ELSE 0 END,
                   started_at = CASE WHEN CAST(:to AS text) = 'running' THEN NOW() ELSE started_at END,
                   finished_at = CASE WHEN CAST(:to AS text) IN ('completed', 'failed', 'cancelled')
                                      THEN NOW() ELSE NULL END
            WHERE id = CAST(:id AS uuid) AND state = ANY(CAST(:from_states AS text[]))
            RETURNING {RUN_COLUMNS}""",
        id=run_id, to=to_state, reason=(reason or None) and reason[:MAX_ERROR], from_states=list(from_states))


# ------------------------------------------------------------------ segments

def segments(run_id: str) -> list[dict]:
    return get_db().query(f"SELECT {SEG_COLUMNS} FROM compare_full_segments WHERE run_id = CAST(:run AS uuid) "
                          "ORDER BY segment_id", run=run_id)


def set_segment_job(run_id: str, segment_id: str, job_id: str) -> None:
    get_db().execute("""UPDATE compare_full_segments SET job_id = CAST(:job AS uuid), updated_at = NOW()
                        WHERE run_id = CAST(:run AS uuid) AND segment_id = :seg""",
                     run=run_id, seg=segment_id, job=job_id)


def claim_segment(run_id: str, segment_id: str, generation: int) -> dict | None:
    """pending/running (a redelivery) of this generation -> running; None when not ours."""
    return get_db().one(
        f"""UPDATE compare_full_segments SET state = 'running', attempts = attempts + 1, updated_at = NOW()
            WHERE run_id = CAST(:run AS uuid) AND segment_id = :seg AND generation = :gen
              AND state IN ('pending', 'running')
            RETURNING {SEG_COLUMNS}""",
        run=run_id, seg=segment_id, gen=generation)


def release_segment(run_id: str, segment_id: str, generation: int, state: str, error: str | None = None) -> None:
    """A worker stops: back to pending (resumable) or failed, with the reason."""
    get_db().execute(
        """UPDATE compare_full_segments SET state = CAST(:state AS text), last_error = COALESCE(:error, last_error),
                  updated_at = NOW()
           WHERE run_id = CAST(:run AS uuid) AND segment_id = :seg AND generation = :gen AND state = 'running'""",
        run=run_id, seg=segment_id, gen=generation, state=state, error=(error or None) and error[:MAX_ERROR])


def reopen_segments(run_id: str) -> list[dict]:
    """Every unfinished segment: next generation, pending (resume)."""
    return get_db().query(
        f"""UPDATE compare_full_segments SET generation = generation + 1, state = 'pending', updated_at = NOW()
            WHERE run_id = CAST(:run AS uuid) AND state <> 'done' RETURNING {SEG_COLUMNS}""", run=run_id)


def bind_node(run_id: str, segment_id: str, generation: int, node_run_id: str | None) -> dict | None:
    """Tie the segment's cursor to the server instance it walks. A cursor is
    only meaningful on the instance that gave it: when the node restarted
    since (another run_id), the segment's partial work is dropped (its
    differences and counts) and the walk starts again from cursor 0."""
    db = get_db()
    with db.transaction():
        seg = db.one(f"""SELECT {SEG_COLUMNS} FROM compare_full_segments
                         WHERE run_id = CAST(:run AS uuid) AND segment_id = :seg AND generation = :gen
                           AND state = 'running' FOR UPDATE""", run=run_id, seg=segment_id, gen=generation)
        if seg is None or node_run_id is None or seg["node_run_id"] == node_run_id:
            return seg
        restart = seg["node_run_id"] is not None and seg["step"] > 0
        if restart:
            db.execute("DELETE FROM compare_full_differences WHERE run_id = CAST(:run AS uuid) AND segment_id = :seg",
                       run=run_id, seg=segment_id)
        return db.one(
            f"""UPDATE compare_full_segments SET node_run_id = :nid, updated_at = NOW(),
                       restarts = restarts + CASE WHEN CAST(:restart AS boolean) THEN 1 ELSE 0 END,
                       cursor_pos = CASE WHEN CAST(:restart AS boolean) THEN '0' ELSE cursor_pos END,
                       step = CASE WHEN CAST(:restart AS boolean) THEN 0 ELSE step END,
                       keys_scanned = CASE WHEN CAST(:restart AS boolean) THEN 0 ELSE keys_scanned END,
                       keys_compared = CASE WHEN CAST(:restart AS boolean) THEN 0 ELSE keys_compared END,
                       identical = CASE WHEN CAST(:restart AS boolean) THEN 0 ELSE identical END,
                       differences = CASE WHEN CAST(:restart AS boolean) THEN 0 ELSE differences END,
                       skipped = CASE WHEN CAST(:restart AS boolean) THEN 0 ELSE skipped END,
                       stats = CASE WHEN CAST(:restart AS boolean) THEN '{{}}'::jsonb ELSE stats END
                WHERE run_id = CAST(:run AS uuid) AND segment_id = :seg RETURNING {SEG_COLUMNS}""",
            run=run_id, seg=segment_id, nid=node_run_id, restart=restart)


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict):
            out[k] = _merge(out.get(k) or {}, v)
        else:
            out[k] = (out.get(k) or 0) + v
    return out


def commit_step(run_id: str, segment_id: str, generation: int, step: int, *, cursor: int, final: bool,
                scanned: int, compared: int, identical: int, skipped: int, stats: dict,
                differences: list[dict]) -> tuple[bool, int]:
    """(committed, differences inserted). Not committed: another worker or a
    resume moved the segment on; nothing of this step is kept."""
    db = get_db()
    with db.transaction():
        seg = db.one("""SELECT stats FROM compare_full_segments
                        WHERE run_id = CAST(:run AS uuid) AND segment_id = :seg AND generation = :gen
                          AND step = :step AND state = 'running' FOR UPDATE""",
                     run=run_id, seg=segment_id, gen=generation, step=step)
        if seg is None:
            return False, 0
        inserted = 0
        if differences:
            inserted = int(db.scalar(
                """WITH ins AS (
                       INSERT INTO compare_full_differences (run_id, segment_id, step, key, field, difference_type,
                                                             value_type, missing_in, detail)
                       SELECT CAST(:run AS uuid), :seg, :step, d.key, d.field, d.difference_type, d.value_type,
                              d.missing_in, d.detail
                       FROM jsonb_to_recordset(CAST(:rows AS jsonb))
                            AS d(key text, field text, difference_type text, value_type text, missing_in text,
                                 detail jsonb)
                       ON CONFLICT (run_id, md5(key), COALESCE(field, '')) DO NOTHING RETURNING 1)
                   SELECT count(*) FROM ins""",
                run=run_id, seg=segment_id, step=step, rows=_j(differences)))
        db.execute(
            """UPDATE compare_full_segments SET cursor_pos = :cursor, step = step + 1,
                      keys_scanned = keys_scanned + :scanned, keys_compared = keys_compared + :compared,
                      identical = identical + :identical, differences = differences + :inserted,
                      skipped = skipped + :skipped, stats = CAST(:stats AS jsonb), last_error = NULL,
                      state = CASE WHEN CAST(:final AS boolean) THEN 'done' ELSE state END,
                      finished_at = CASE WHEN CAST(:final AS boolean) THEN NOW() ELSE NULL END, updated_at = NOW()
               WHERE run_id = CAST(:run AS uuid) AND segment_id = :seg""",
            run=run_id, seg=segment_id, cursor=str(cursor), scanned=scanned, compared=compared,
            identical=identical, inserted=inserted, skipped=skipped, stats=_j(_merge(seg["stats"] or {}, stats)),
            final=final)
    return True, inserted


def progress(run_id: str) -> dict:
    row = get_db().one(
        """SELECT count(*) AS total,
                  count(*) FILTER (WHERE state = 'done') AS done,
                  count(*) FILTER (WHERE state = 'failed') AS failed,
                  count(*) FILTER (WHERE state = 'running') AS running,
                  COALESCE(sum(estimated_keys), 0) AS estimated_keys,
                  COALESCE(sum(keys_scanned), 0) AS keys_scanned,
                  COALESCE(sum(keys_compared), 0) AS keys_compared,
                  COALESCE(sum(identical), 0) AS identical,
                  COALESCE(sum(differences), 0) AS differences,
                  COALESCE(sum(skipped), 0) AS skipped,
                  COALESCE(sum(step), 0) AS steps
           FROM compare_full_segments WHERE run_id = CAST(:run AS uuid)""", run=run_id) or {}
    return {k: int(v or 0) for k, v in row.items()}


def finish_if_done(run_id: str) -> dict | None:
    """completed (or failed, when segments failed) once no segment is open; else None."""
    db = get_db()
    with db.transaction():
        state = db.scalar("SELECT state FROM compare_full_runs WHERE id = CAST(:id AS uuid) FOR UPDATE", id=run_id)
        if state != "running":
            return None
        counts = db.one("""SELECT count(*) FILTER (WHERE state IN ('pending', 'running')) AS open,
                                  count(*) FILTER (WHERE state = 'failed') AS failed
                           FROM compare_full_segments WHERE run_id = CAST(:run AS uuid)""", run=run_id) or {}
        if counts["open"]:
            return None
        if counts["failed"]:
            return set_run_state(run_id, ("running",), "failed",
                                 f"{counts['failed']} segment(s) failed; resume the run to retry them")
        return set_run_state(run_id, ("running",), "completed")


def store_summary(run_id: str, summary: dict) -> None:
    get_db().execute("UPDATE compare_full_runs SET summary = CAST(:s AS jsonb), updated_at = NOW() "
                     "WHERE id = CAST(:id AS uuid)", id=run_id, s=_j(summary))


# ------------------------------------------------------------------ differences

def _diff_where(run_id: str, difference_type: str | None) -> Where:
    return Where("run_id = CAST(:run AS uuid)", run=run_id).when(
        difference_type, "difference_type = :dtype", dtype=difference_type)


def differences(run_id: str, limit: int, offset: int, difference_type: str | None = None) -> tuple[list, int]:
    w = _diff_where(run_id, difference_type)
    return get_db().page(f"SELECT {DIFF_COLUMNS} FROM compare_full_differences WHERE {w.sql}",
                         order_by="id", limit=limit, offset=offset, **w.params)


def differences_after(run_id: str, after_id: int, limit: int, difference_type: str | None = None) -> list[dict]:
    """Keyset page for exports: rows with id > after_id, in id order."""
    w = _diff_where(run_id, difference_type).when(True, "id > :after", after=after_id)
    return get_db().query(f"SELECT {DIFF_COLUMNS} FROM compare_full_differences WHERE {w.sql} ORDER BY id "
                          "LIMIT :limit", limit=limit, **w.params)


def difference_facts(run_id: str) -> dict:
    """Aggregates the summary needs (bounded: grouped counts and a few examples).
    Counts are of distinct keys (a Cassandra row differing in two fields is one key)."""
    db = get_db()
    run = dict(run=run_id)
    by_kind = db.query("""SELECT difference_type, COALESCE(value_type, '') AS value_type,
                                 COALESCE(missing_in, '') AS missing_in, count(DISTINCT key) AS n
                          FROM compare_full_differences WHERE run_id = CAST(:run AS uuid)
                          GROUP BY 1, 2, 3""", **run)
    classes = db.one("""SELECT count(*) AS keys,
                               count(*) FILTER (WHERE real) AS value_different,
                               count(*) FILTER (WHERE NOT real AND NOT missing AND fmt) AS format_only,
                               count(*) FILTER (WHERE NOT real AND NOT missing AND fmt AND tolerated) AS tolerated
                        FROM (SELECT key,
                                     bool_or(difference_type NOT IN ('missing', 'format_only')) AS real,
                                     bool_or(difference_type = 'missing') AS missing,
                                     bool_or(difference_type = 'format_only') AS fmt,
                                     bool_and(difference_type <> 'format_only'
                                              OR COALESCE((detail->>'tolerated_by_mode')::boolean, false))
                                         AS tolerated
                              FROM compare_full_differences WHERE run_id = CAST(:run AS uuid) GROUP BY key) k""",
                     **run) or {}
    formats = db.query("""SELECT kind, count(DISTINCT key) AS n FROM compare_full_differences,
                                 jsonb_array_elements_text(COALESCE(detail->'format_kinds', '[]'::jsonb)) AS kind
                          WHERE run_id = CAST(:run AS uuid) AND difference_type = 'format_only' GROUP BY kind""",
                       **run)
    entries = {r["t"]: int(r["n"]) for r in db.query(
        """SELECT difference_type = 'format_only' AS t, count(*) AS n FROM compare_full_differences
           WHERE run_id = CAST(:run AS uuid) GROUP BY 1""", **run)}
    examples = db.query("""SELECT missing_in, key FROM (
                               SELECT missing_in, key, row_number() OVER (PARTITION BY missing_in ORDER BY id) AS rn
                               FROM compare_full_differences
                               WHERE run_id = CAST(:run AS uuid) AND difference_type = 'missing') x
                           WHERE rn <= 200""", **run)
    ttl_only = [r["key"] for r in db.query(
        """SELECT key FROM compare_full_differences WHERE run_id = CAST(:run AS uuid)
           AND difference_type = 'ttl_mismatch' ORDER BY id LIMIT 200""", **run)]
    paths = db.query("""SELECT CASE WHEN field IS NULL THEN p ELSE field || ':' || p END AS path, count(*) AS n
                        FROM compare_full_differences,
                             jsonb_array_elements_text(COALESCE(detail->'json_paths', '[]'::jsonb)) AS p
                        WHERE run_id = CAST(:run AS uuid) GROUP BY 1 ORDER BY n DESC, 1 LIMIT 200""", **run)
    fields = db.query("""SELECT field, count(DISTINCT key) AS n FROM compare_full_differences
                         WHERE run_id = CAST(:run AS uuid) AND field IS NOT NULL
                           AND difference_type <> 'format_only'
                         GROUP BY field ORDER BY n DESC, field LIMIT 500""", **run)
    only_field = db.query("""SELECT f AS field, count(*) AS n FROM (
                                 SELECT key, min(field) AS f, count(DISTINCT field) AS nf
                                 FROM compare_full_differences
                                 WHERE run_id = CAST(:run AS uuid) AND field IS NOT NULL
                                   AND difference_type <> 'format_only' GROUP BY key) x
                             WHERE nf = 1 GROUP BY f""", **run)
    stats = [r["stats"] for r in db.query(
        "SELECT stats FROM compare_full_segments WHERE run_id = CAST(:run AS uuid)", **run)]
    merged: dict = {}
    for s in stats:
        merged = _merge(merged, s or {})
    return {"by_kind": by_kind, "classes": {k: int(v or 0) for k, v in classes.items()},
            "format_kinds": {r["kind"]: int(r["n"]) for r in formats}, "entries": entries, "examples": examples,
            "ttl_only": ttl_only, "paths": paths, "stats": merged,
            "fields": {r["field"]: int(r["n"]) for r in fields},
            "only_field": {r["field"]: int(r["n"]) for r in only_field}}
