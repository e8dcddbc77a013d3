"""Exporting a run's differences as CSV or JSON Lines, in bounded pages.

API Gateway answers at most 6 MB and Lambda cannot stream through Chalice,
so an export is a chain of pages: each answer holds up to `limit` rows
(and never more than MAX_PAGE_BYTES), read from the journal in keyset
pages of READ_ROWS, never the whole run at once. While rows remain, the
answer carries `X-Next-After: <id>` and a `Link: <...&after=id>; rel="next"`
header; the last page has neither. The CSV header row is on the first page
only, so the pages concatenated are one file.

    body, next_after = page(run_id, "csv", after=0, limit=5000)
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any

from chalicelib.web.envelope import dumps

from . import journal

READ_ROWS = 1000
MAX_PAGE_BYTES = 4 * 1024 * 1024
CSV_COLUMNS = ["id", "key", "difference_type", "value_type", "missing_in", "segment_id", "cluster1_value",
               "cluster2_value", "message", "json_paths", "detail"]
MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False, default=str, separators=(",", ":"))


def record(row: dict) -> dict:
    d = row["detail"] or {}
    return {"id": row["id"], "key": row["key"], "difference_type": row["difference_type"],
            "value_type": row["value_type"], "missing_in": row["missing_in"], "segment_id": row["segment_id"],
            "cluster1_value": d.get("cluster1_value"), "cluster2_value": d.get("cluster2_value"),
            "message": d.get("message"), "json_paths": d.get("json_paths"), "detail": d}


def _csv_line(rec: dict) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow([_cell(rec[c]) if c != "id" else rec["id"]
                                                     for c in CSV_COLUMNS])
    return buf.getvalue()


def page(run_id: str, fmt: str, after: int, limit: int, difference_type: str | None = None
         ) -> tuple[str, int | None]:
    """(body, id to continue after, or None when this is the last page)."""
    parts: list[str] = []
    size = 0
    if fmt == "csv" and after == 0:
        head = _csv_line({c: c for c in CSV_COLUMNS} | {"id": "id"})
        parts.append(head)
        size += len(head)
    last = after
    taken = 0
    while taken < limit:
        rows = journal.differences_after(run_id, last, min(READ_ROWS, limit - taken), difference_type)
        if not rows:
            return "".join(parts), None
        for row in rows:
            rec = record(row)
            line = _csv_line(rec) if fmt == "csv" else dumps(rec) + "\n"
            if size + len(line) > MAX_PAGE_BYTES and taken:
                return "".join(parts), last
            parts.append(line)
            size += len(line)
            last = int(row["id"])
            taken += 1
    more = journal.differences_after(run_id, last, 1, difference_type)
    return "".join(parts), (last if more else None)
