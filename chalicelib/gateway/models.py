"""Request and query models of the gateway routes, imported on the first request
that needs them (routes name them as "chalicelib.gateway.models:InvokeBody";
Lambda cold start)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from chalicelib.gateway.limits import MAX_INVOKE_TIMEOUT_MS
from chalicelib.models import Model, StrictModel
from chalicelib.web.models import Duration, IsoDatetime, PageQuery, UuidText

ResourceType = Literal["workflow_node", "scheduled_task", "form", "dashboard"]
RefStatus = Literal["active", "inactive", "error"]


class InvokeBody(StrictModel):
    path_params: dict[str, Any] = Field(default_factory=dict)
    query: dict[str, Any] = Field(default_factory=dict)
    headers: dict[str, Any] = Field(default_factory=dict)
    cookies: dict[str, Any] = Field(default_factory=dict)
    body: Any = None
    content_type: str | None = Field(None, max_length=200)
    timeout_ms: int | None = Field(None, ge=1, le=MAX_INVOKE_TIMEOUT_MS)


class StatsQuery(Model):
    window: Duration = Field("24h", description="15m, 24h, 7d ... (at most 366d)")


class CallLogQuery(PageQuery):
    endpoint_id: UuidText | None = None
    document_id: UuidText | None = None
    reference_id: UuidText | None = None
    status_code: int | None = Field(None, ge=100, le=599)
    status_class: Literal["1xx", "2xx", "3xx", "4xx", "5xx"] | None = None
    error_type: str | None = Field(None, max_length=50, description="timeout, connection, ssl, upstream_status, "
                                                                      "refused, too_large, redirects, auth, none")
    cache_status: Literal["hit", "miss"] | None = Field(None, description="calls of cached endpoints")
    deprecated: bool | None = Field(None, description="only calls to deprecated endpoints (true) or others (false)")
    since: IsoDatetime | None = Field(None, description="default: until - 24h; must be before until")
    until: IsoDatetime | None = Field(None, description="default: now")


class CreateReference(StrictModel):
    resource_type: ResourceType
    resource_id: UuidText
    api_endpoint_id: UuidText
    reference_config: dict[str, Any] | None = None
    display_name: str | None = Field(None, max_length=255)
    description: str | None = None
    status: Literal["active", "inactive"] = "active"


class UpdateReference(StrictModel):
    resource_type: ResourceType | None = None
    resource_id: UuidText | None = None
    api_endpoint_id: UuidText | None = None
    reference_config: dict[str, Any] | None = None
    display_name: str | None = Field(None, max_length=255)
    description: str | None = None
    status: RefStatus | None = None


class ReferenceQuery(PageQuery):
    resource_type: ResourceType | None = None
    resource_id: UuidText | None = None
    endpoint_id: UuidText | None = None
    document_id: UuidText | None = None
    status: RefStatus | None = None


class ReferenceStatsQuery(PageQuery):
    resource_type: ResourceType | None = None
    resource_id: UuidText | None = None


class InvokeReference(StrictModel):
    input: dict[str, Any] = Field(default_factory=dict)
