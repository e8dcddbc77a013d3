"""Request and query models of /api/compare-runs (imported on first use).

The body of a run carries the same fields as `/api/redis/compare` (configs
or config_group_id, compare_ttl, recheck_rounds, batch_size, ...), which the
Redis engine's own model validates, plus the run's own settings below.
"""
from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import ConfigDict, Field, field_validator

from chalicelib.compare.cassandra.config import ConsistencyLevel
from chalicelib.compare.cassandra.config import QueryRequest as _QUERY
from chalicelib.models import Model
from chalicelib.web.models import PageQuery

ValueType = Literal["string", "hash", "list", "set", "zset", "stream"]
DifferenceType = Literal["value_mismatch", "type_mismatch", "ttl_mismatch", "missing"]


class SideRates(Model):
    """Per side: Redis names them cluster1/cluster2, Cassandra pro/test (the same two sides)."""
    model_config = ConfigDict(extra="forbid", defer_build=True)
    cluster1: Optional[int] = Field(None, ge=1, le=10_000_000)
    cluster2: Optional[int] = Field(None, ge=1, le=10_000_000)
    pro: Optional[int] = Field(None, ge=1, le=10_000_000)
    test: Optional[int] = Field(None, ge=1, le=10_000_000)


class CreateRun(Model):
    """A whole-dataset run. Unknown fields go to the engine's request model."""
    model_config = ConfigDict(extra="allow", defer_build=True)

    engine: Literal["redis", "cassandra"] = "redis"
    pattern: str = Field("*", min_length=1, max_length=1024)
    types: Optional[list[ValueType]] = Field(None, min_length=1, max_length=6)
    scan_count: int = Field(1000, ge=10, le=100_000, description="COUNT of each SCAN call")
    step_keys: int = Field(2000, ge=10, le=100_000, description="keys (Cassandra: rows) per committed step")
    split_count: int = Field(16, ge=1, le=4096, description="Cassandra: token ranges (also cut at ring tokens)")
    page_size: int = Field(1000, ge=10, le=10_000, description="Cassandra: rows per page of a range read")
    slice_seconds: float = Field(20.0, ge=0.5, le=300, description="a job's time budget before it continues")
    max_ops_per_second: Optional[Union[int, SideRates]] = Field(
        None, description="commands per second per side, shared by all workers (a number: both sides)")
    priority: Literal["critical", "default", "low"] = "low"
    name: Optional[str] = Field(None, max_length=200)
    description: Optional[str] = Field(None, max_length=2000)

    @field_validator("max_ops_per_second")
    @classmethod
    def _positive(cls, v):
        if isinstance(v, int) and not 1 <= v <= 10_000_000:
            raise ValueError("must be between 1 and 10000000")
        return v

    @field_validator("types")
    @classmethod
    def _unique(cls, v):
        return list(dict.fromkeys(v)) if v else v

    def rates(self) -> dict:
        v = self.max_ops_per_second
        if v is None:
            return {}
        if isinstance(v, int):
            return {"cluster1": v, "cluster2": v}
        d = v.model_dump()
        out = {"cluster1": d["cluster1"] or d["pro"], "cluster2": d["cluster2"] or d["test"]}
        return {k: n for k, n in out.items() if n}

    def run_options(self) -> dict:
        if self.engine == "cassandra":
            return {"split_count": self.split_count, "page_size": self.page_size, "step_rows": self.step_keys,
                    "slice_seconds": self.slice_seconds, "max_ops_per_second": self.rates()}
        return {"pattern": self.pattern, "types": self.types, "scan_count": self.scan_count,
                "step_keys": max(self.step_keys, 1), "slice_seconds": self.slice_seconds,
                "max_ops_per_second": self.rates()}


def _query_field(name: str) -> Any:
    """A field of the specified-mode request (/api/query), bounds and default included."""
    return _QUERY.model_fields[name]


class CassandraRunBody(Model):
    """The Cassandra part of a run body: two table configs or a config group."""
    model_config = ConfigDict(extra="ignore", defer_build=True)

    pro_config: Optional[dict] = None
    test_config: Optional[dict] = None
    config_group_id: Optional[int] = None
    fields_to_compare: list[str] = Field(default_factory=list, max_length=1000)
    exclude_fields: list[str] = Field(default_factory=list, max_length=1000)
    compare_mode: Literal["exact", "json", "normalized"] = "exact"
    consistency_level: Optional[ConsistencyLevel] = Field(
        None, description="read level of both sides (ranges and rechecks); empty: each side's own")
    # the specified-mode comparison's own fields (/api/query): one definition of their bounds
    recheck_rounds: int = _query_field("recheck_rounds")
    recheck_delay_seconds: float = _query_field("recheck_delay_seconds")


class RunsQuery(PageQuery):
    state: Optional[Literal["running", "paused", "cancelled", "completed", "failed"]] = None
    engine: Optional[Literal["redis", "cassandra"]] = None


class DifferencesQuery(PageQuery):
    difference_type: Optional[DifferenceType] = None


class ExportQuery(Model):
    format: Literal["csv", "jsonl"] = "jsonl"
    difference_type: Optional[DifferenceType] = None
    after: int = Field(0, ge=0, description="continue after this difference id (X-Next-After of the last page)")
    limit: int = Field(5000, ge=1, le=20_000, description="rows in this page")
