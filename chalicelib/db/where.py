"""`Where`: a WHERE clause built from optional filters.

    w = Where().when(status, "status = :status", status=status)
    db.query(f"SELECT * FROM t WHERE {w.sql} LIMIT :limit", limit=10, **w.params)

Clauses are fixed SQL text written by the caller; values are always bound.
"""
from __future__ import annotations

from typing import Any


class Where:
    def __init__(self, *always: str, **params: Any):
        self.clauses: list[str] = list(always)
        self.params: dict[str, Any] = dict(params)

    def when(self, condition: Any, clause: str, **params: Any) -> "Where":
        """Add `clause` (and bind `params`) when `condition` is truthy."""
        if condition:
            self.clauses.append(clause)
            self.params.update(params)
        return self

    @property
    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "TRUE"
