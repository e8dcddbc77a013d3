"""One comparison run's bookkeeping: query logs with a batch id and, unless
save_history is false, a query_history record with the full results.

Shared by the Redis and Cassandra engines:

    from chalicelib.compare.runs import ComparisonRun

    run = ComparisonRun("single", log_query_type="cassandra_single",
                        name=body.name, save_history=body.save_history,
                        created_by=principal.key_id, secrets=[pro_password, test_password])
    with run:                                   # an exception -> ERROR log, logs written, re-raised
        run.log("INFO", "Starting Cassandra query")
        answer = ...                            # the engine's answer (ReportBuilder.build() + extras)
        run.finish(answer, pro_config=..., test_config=..., query_config=...,
                   query_keys=values, sharding_config=None)
    # answer now has "history_id" (None when not saved) and "batch_id"

Messages are scrubbed of the given secrets; configs are stored masked.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from typing import Any, Iterable

from chalicelib.db import get_db

from . import history, query_logs
from .sealing import mask_secrets

pylog = logging.getLogger("stepflow.compare")
MAX_LOG_MESSAGE = 4000


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ComparisonRun:
    def __init__(self, query_type: str, *, log_query_type: str | None = None, name: str | None = None,
                 description: str | None = None, save_history: bool = True, created_by: str | None = None,
                 job_id: str | None = None, config_group_id: int | None = None,
                 secrets: Iterable[str | None] = ()):
        if query_type not in history.QUERY_TYPES:
            raise ValueError(f"query_type must be one of {history.QUERY_TYPES}")
        self.query_type = query_type
        self.log_query_type = log_query_type or query_type
        self.name = name
        self.description = description
        self.save_history = save_history
        self.created_by = created_by
        self.job_id = job_id
        self.config_group_id = config_group_id
        self.batch_id = f"batch-{uuid.uuid4()}"
        self.history_id: int | None = None
        self.entries: list[dict] = []
        self._secrets = [s for s in secrets if s]
        self._started = time.perf_counter()
        self._closed = False

    # ------------------------------------------------------------ logging

    def add_secrets(self, *values: str | None) -> None:
        self._secrets.extend(v for v in values if v)

    def _scrub(self, text: str) -> str:
        from chalicelib import masking
        return (masking.scrub(text, self._secrets) or "")[:MAX_LOG_MESSAGE]

    def log(self, level: str, message: str, **details: Any) -> None:
        level = level.upper()
        if level not in query_logs.LEVELS:
            level = "WARNING" if level == "WARN" else "INFO"
        msg = self._scrub(str(message))
        entry = {"batch_id": self.batch_id, "timestamp": _now_iso(), "level": level, "message": msg,
                 "query_type": self.log_query_type}
        if details:
            entry["details"] = mask_secrets(details)
        self.entries.append(entry)
        pylog.log({"INFO": logging.INFO, "WARNING": logging.WARNING}.get(level, logging.ERROR),
                  "%s %s", self.batch_id, msg)

    def __call__(self, level: str, message: str) -> None:
        """A run is itself the `log(level, message)` callable engines take."""
        self.log(level, message)

    # ------------------------------------------------------------ ending

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._started

    def finish(self, answer: dict, *, pro_config: Any = None, test_config: Any = None, query_config: Any = None,
               query_keys: list | None = None, sharding_config: Any = None,
               execution_time: float | None = None, name: str | None = None) -> int | None:
        """Write the logs (and history); puts history_id and batch_id into answer."""
        exec_time = round(self.elapsed if execution_time is None else execution_time, 4)
        self.log("INFO", f"Comparison finished in {exec_time:.3f}s")
        db = get_db()
        with db.transaction():
            if self.save_history:
                row = history.save(
                    name=name or self.name or self.default_name(), description=self.description,
                    query_type=self.query_type, pro_config=pro_config, test_config=test_config,
                    query_config=query_config, query_keys=query_keys,
                    results_summary=history.results_summary(answer), execution_time=exec_time,
                    sharding_config=sharding_config, raw_results=answer, batch_id=self.batch_id,
                    config_group_id=self.config_group_id, job_id=self.job_id, created_by=self.created_by, db=db)
                self.history_id = row["id"]
            for e in self.entries:
                e["history_id"] = self.history_id
            query_logs.write(self.entries, db=db)
        self._closed = True
        answer["history_id"] = self.history_id
        answer["batch_id"] = self.batch_id
        return self.history_id

    def fail(self, exc: BaseException) -> None:
        """Log the error and write the logs (no history for a failed run)."""
        if self._closed:
            return
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        code = getattr(exc, "code", None)
        self.log("ERROR", f"Comparison failed: {message}", **({"code": code} if code else {}))
        self._closed = True
        try:
            query_logs.write(self.entries)
        except Exception:  # noqa: BLE001 - the original error matters more
            pylog.exception("could not write query logs of %s", self.batch_id)

    def default_name(self) -> str:
        label = {"single": "Cassandra comparison", "sharding": "Cassandra sharded comparison",
                 "redis": "Redis comparison"}[self.query_type]
        return f"{label} {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M:%S}"

    def __enter__(self) -> "ComparisonRun":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is not None and not self._closed:
            self.fail(exc)
