"""Request and query models of the comparison routes (config groups, history,
logs), imported on the first request that needs them (the routes name them
through LazyModels; Lambda cold start). The Redis and
Cassandra request models live in their engines' config modules."""
from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import Field

from chalicelib.models import Model
from chalicelib.web.models import IsoDatetime, PageQuery


class _ConfigGroupFields(Model):
    """What a config group holds besides its name (required on create, optional on update)."""
    description: Optional[str] = Field(None, max_length=2000)
    group_type: Optional[Literal["cassandra", "redis"]] = None
    pro_config: Optional[dict] = None
    test_config: Optional[dict] = None
    cluster1_config: Optional[dict] = None
    cluster2_config: Optional[dict] = None
    query_config: Optional[dict] = None
    sharding_config: Optional[dict] = None


class ConfigGroupBody(_ConfigGroupFields):
    name: str = Field(min_length=1, max_length=200)


class ConfigGroupUpdate(_ConfigGroupFields):
    name: Optional[str] = Field(None, min_length=1, max_length=200)


class ConfigGroupQuery(PageQuery):
    group_type: Optional[Literal["cassandra", "redis"]] = None


class HistoryQuery(PageQuery):
    query_type: Optional[Literal["single", "sharding", "redis"]] = None


class HistoryBody(Model):
    name: str = Field(min_length=1, max_length=255)
    description: Optional[str] = Field(None, max_length=2000)
    query_type: Literal["single", "sharding", "redis"] = "single"
    pro_config: Optional[dict] = None
    test_config: Optional[dict] = None
    query_config: Optional[dict] = None
    query_keys: list[Any] = Field(default_factory=list)
    results_summary: dict = Field(default_factory=dict)
    execution_time: float = Field(0.0, ge=0)
    sharding_config: Optional[dict] = None
    raw_results: Optional[dict] = None
    config_group_id: Optional[int] = None


class LogsQuery(Model):
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0)
    level: Optional[Literal["INFO", "WARNING", "ERROR"]] = None
    history_id: Optional[int] = Field(None, ge=1)
    batch_id: Optional[str] = Field(None, max_length=64)


class LogsDeleteQuery(Model):
    history_id: Optional[int] = Field(None, ge=1)
    before: Optional[IsoDatetime] = Field(None, description="ISO timestamp: delete older logs only")
