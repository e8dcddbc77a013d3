"""The query_logs table (seed 003 section 2.5): what each comparison run said.

Entries are written in bulk at the end of a run (ComparisonRun), one row per
message, all sharing the run's batch id and, once saved, its history id.
Any bytes are accepted: a message or detail text PostgreSQL cannot hold
(NUL, invalid UTF-8) is stored in the binary-safe form of compare.core.binary.
"""
from __future__ import annotations

from typing import Any

from chalicelib.db import get_db
from chalicelib.db.where import Where
from chalicelib.jsontext import dumps

LEVELS = ("INFO", "WARNING", "ERROR")
_COLS = "id, batch_id, history_id, \"timestamp\", level, message, query_type, details, created_at"


def write(entries: list[dict], db=None) -> int:
    """Insert entries: dicts with batch_id, history_id, timestamp (ISO), level,
    message, query_type and optional details. One statement."""
    if not entries:
        return 0
    from .core.binary import storable, storable_text

    db = db or get_db()
    rows = [{
        "batch_id": e["batch_id"],
        "history_id": e.get("history_id"),
        "timestamp": e["timestamp"],
        "level": e["level"],
        "message": storable_text(e["message"]),
        "query_type": e["query_type"],
        "details": storable(e.get("details")),
    } for e in entries]
    return db.execute(
        "INSERT INTO query_logs (batch_id, history_id, \"timestamp\", level, message, query_type, details) "
        "SELECT x.batch_id, x.history_id, x.\"timestamp\", x.level, x.message, x.query_type, x.details "
        "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(batch_id text, history_id bigint, "
        "\"timestamp\" timestamptz, level text, message text, query_type text, details jsonb)",
        rows=dumps(rows))


def list_logs(limit: int = 100, offset: int = 0, level: str | None = None, history_id: int | None = None,
              batch_id: str | None = None, db=None) -> tuple[list[dict], int]:
    """Newest first."""
    db = db or get_db()
    w = (Where().when(level, "level = :level", level=level)
         .when(history_id is not None, "history_id = :history_id", history_id=history_id)
         .when(batch_id, "batch_id = :batch_id", batch_id=batch_id))
    rows, total = db.page(f"SELECT {_COLS} FROM query_logs WHERE {w.sql}", order_by='"timestamp" DESC, id DESC',
                          limit=limit, offset=offset, **w.params)
    return [_out(r) for r in rows], total


def for_history(history_id: int, db=None) -> dict:
    """All logs of one history record (oldest first) and their summary."""
    db = db or get_db()
    rows = db.query(f"SELECT {_COLS} FROM query_logs WHERE history_id = :h ORDER BY \"timestamp\", id",
                    h=history_id)
    logs = [_out(r) for r in rows]
    counts = {lvl: 0 for lvl in LEVELS}
    for r in rows:
        counts[r["level"]] = counts.get(r["level"], 0) + 1
    summary = {
        "total_logs": len(rows),
        "info_count": counts["INFO"],
        "warning_count": counts["WARNING"],
        "error_count": counts["ERROR"],
        "start_time": rows[0]["timestamp"] if rows else None,
        "end_time": rows[-1]["timestamp"] if rows else None,
    }
    return {"history_id": history_id, "logs": logs, "log_summary": summary}


def delete_logs(history_id: int | None = None, before: Any = None, db=None) -> int:
    db = db or get_db()
    w = (Where().when(history_id is not None, "history_id = :history_id", history_id=history_id)
         .when(before is not None, "\"timestamp\" < :before", before=before))
    return db.execute(f"DELETE FROM query_logs WHERE {w.sql}", **w.params)


def _out(r: dict) -> dict:
    out = {k: r[k] for k in ("id", "batch_id", "history_id", "timestamp", "level", "message", "query_type",
                             "created_at")}
    if r.get("details"):
        out["details"] = r["details"]
    return out
