"""The query_history table (seed 003 section 2.4): saved comparison runs.

Configs are stored masked: a history record never holds a password. The
full answer of the run is kept in raw_results (GET .../results).
"""
from __future__ import annotations

from typing import Any

from chalicelib.db import get_db
from chalicelib.db.where import Where
from chalicelib.errors import NotFound

from .core.binary import storable_text
from .sealing import mask_secrets

QUERY_TYPES = ("single", "sharding", "redis")
_LIST_COLS = ("id, name, description, query_type, total_keys, differences_count, identical_count, "
              "execution_time, batch_id, config_group_id, job_id, created_at, updated_at")
_DETAIL_COLS = (_LIST_COLS + ", pro_config, test_config, query_config, query_keys, results_summary, "
                "sharding_config")


def results_summary(answer: dict) -> dict:
    """The counts a history list shows, from an engine answer."""
    s = answer.get("summary") or {}
    out = {
        "total_keys": int(answer.get("total_keys") or 0),
        "differences_count": int(answer.get("differences_count") or 0),
        "identical_count": int(answer.get("identical_count") or 0),
    }
    if s.get("overview"):
        out["overview"] = s["overview"]
    if s.get("percentages"):
        out["percentages"] = s["percentages"]
    for k in ("missing_in_pro", "missing_in_test", "missing_in_cluster1", "missing_in_cluster2",
              "missing_in_both", "format_only_keys", "matching_keys", "skipped_keys"):
        if k in (s.get("counts") or {}):
            out[k] = s["counts"][k]
    return out


def save(*, name: str, query_type: str, description: str | None = None, pro_config: Any = None,
         test_config: Any = None, query_config: Any = None, query_keys: list | None = None,
         results_summary: dict | None = None, execution_time: float = 0.0, sharding_config: Any = None,
         raw_results: Any = None, batch_id: str | None = None, config_group_id: int | None = None,
         job_id: str | None = None, created_by: str | None = None, db=None) -> dict:
    db = db or get_db()
    rs = dict(results_summary or {})
    row = db.one(
        "INSERT INTO query_history (name, description, query_type, pro_config, test_config, query_config, "
        "query_keys, results_summary, sharding_config, raw_results, total_keys, differences_count, "
        "identical_count, execution_time, batch_id, config_group_id, job_id, created_by) VALUES "
        "(:name, :description, :query_type, CAST(:pro AS jsonb), CAST(:test AS jsonb), CAST(:qc AS jsonb), "
        "CAST(:keys AS jsonb), CAST(:rs AS jsonb), CAST(:sc AS jsonb), CAST(:raw AS jsonb), :total, :diffs, "
        ":ident, :exec_time, :batch_id, :group_id, CAST(:job_id AS uuid), CAST(:created_by AS uuid)) "
        f"RETURNING {_DETAIL_COLS}",
        name=storable_text(name), description=storable_text(description) if description else description,
        query_type=query_type,
        pro=_json(mask_secrets(pro_config)), test=_json(mask_secrets(test_config)),
        qc=_json(mask_secrets(query_config)), keys=_json(list(query_keys or [])), rs=_json(rs),
        sc=_json(sharding_config), raw=_json(_mask_configs(raw_results)),
        total=int(rs.get("total_keys") or 0), diffs=int(rs.get("differences_count") or 0),
        ident=int(rs.get("identical_count") or 0), exec_time=float(execution_time or 0.0),
        batch_id=batch_id, group_id=config_group_id, job_id=job_id, created_by=created_by)
    return row


def _mask_configs(raw: Any) -> Any:
    """Mask the configs a results document may carry (`*_config` keys), not
    the compared data: a column or hash field named "value" or "password" is
    data the user asked to see."""
    if not isinstance(raw, dict):
        return raw
    return {k: (mask_secrets(v) if str(k).endswith("_config") else v) for k, v in raw.items()}


def _json(v: Any) -> str | None:
    """JSON text for a CAST(... AS jsonb) parameter (pg8000 would send a list as an array).
    Any bytes are accepted: text jsonb cannot hold (NUL, invalid UTF-8) is stored in the
    binary-safe form {"base64": ...} (compare.core.binary)."""
    if v is None:
        return None
    from chalicelib.jsontext import dumps

    from .core.binary import storable
    return dumps(storable(v))


def list_history(limit: int = 50, offset: int = 0, query_type: str | None = None, db=None) -> tuple[list, int]:
    db = db or get_db()
    w = Where().when(query_type, "query_type = :qt", qt=query_type)
    return db.page(f"SELECT {_LIST_COLS} FROM query_history WHERE {w.sql}", order_by="created_at DESC, id DESC",
                   limit=limit, offset=offset, **w.params)


def get(history_id: int, db=None) -> dict:
    db = db or get_db()
    row = db.one(f"SELECT {_DETAIL_COLS} FROM query_history WHERE id = :id", id=history_id)
    if row is None:
        raise NotFound(f"query history {history_id} not found")
    return row


def results(history_id: int, db=None) -> dict:
    db = db or get_db()
    row = db.one("SELECT raw_results FROM query_history WHERE id = :id", id=history_id)
    if row is None:
        raise NotFound(f"query history {history_id} not found")
    return row["raw_results"] or {}


def delete(history_id: int, db=None) -> dict:
    """Deletes the record and its query logs in one transaction."""
    db = db or get_db()
    with db.transaction():
        n = db.execute("DELETE FROM query_history WHERE id = :id", id=history_id)
        if not n:
            raise NotFound(f"query history {history_id} not found")
        logs = db.execute("DELETE FROM query_logs WHERE history_id = :id", id=history_id)
    return {"id": history_id, "deleted_logs": logs}
