"""Request and query models of the catalog routes, imported on the first request
that needs them (routes name them as "chalicelib.catalog.models:CreateTemplate";
Lambda cold start)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from chalicelib.jobs.models import AsyncOptions
from chalicelib.models import Model, StrictModel
from chalicelib.web.models import PageQuery, UuidText

ContentType = Literal["yaml", "json"]


class TemplateMeta(Model):
    name: str | None = Field(None, min_length=1, max_length=255)
    version: str | None = Field(None, min_length=1, max_length=50)
    description: str | None = None
    category: str | None = Field(None, max_length=100)
    tags: list[str] = Field(default_factory=list)
    is_public: bool = False
    content_type: ContentType | None = None


class CreateTemplate(TemplateMeta):
    content: str = Field(..., min_length=1, description="the OpenAPI / Swagger text (YAML or JSON)")


class ImportUrl(TemplateMeta, AsyncOptions):
    url: str = Field(..., min_length=1, max_length=2000)


class TemplateQuery(PageQuery):
    category: str | None = None
    tag: str | None = None
    status: Literal["active", "inactive", "deprecated"] | None = None
    is_public: bool | None = None
    text: str | None = None


class TemplateGetQuery(Model):
    include_content: bool = False


class UpdateTemplate(StrictModel):
    name: str | None = Field(None, min_length=1, max_length=255)
    version: str | None = Field(None, min_length=1, max_length=50)
    description: str | None = None
    category: str | None = Field(None, max_length=100)
    tags: list[str] | None = None
    is_public: bool | None = None
    status: Literal["active", "inactive", "deprecated"] | None = None
    content: str | None = Field(None, min_length=1)
    content_type: ContentType | None = None


ServerVariable = Annotated[str, Field(max_length=500, pattern=r"^[^{}\s?#]*$")]


class CreateDocument(AsyncOptions):
    template_id: str | None = None
    content: str | None = Field(None, min_length=1)
    content_type: ContentType | None = None
    name: str | None = Field(None, min_length=1, max_length=255)
    version: str | None = Field(None, min_length=1, max_length=50)
    description: str | None = None
    base_url: str | None = Field(None, max_length=500)
    server_index: int | None = Field(None, ge=0, le=49, description="which of the spec's servers to call")
    server_url: str | None = Field(None, max_length=2000, description="one of the spec's server URLs")
    server_variables: dict[str, ServerVariable] | None = Field(
        None, max_length=50, description="values for the spec's server variables (name -> value, in its enum)")
    auth_config: dict | None = None
    rate_limit_config: dict | None = None
    timeout_config: dict | None = None


class DocumentQuery(PageQuery):
    status: Literal["active", "inactive", "error"] | None = None
    health_status: Literal["healthy", "unhealthy", "unknown"] | None = None
    template_id: UuidText | None = None
    text: str | None = None
    invalid_config: bool = Field(False, description="only documents whose stored auth/rate-limit/timeout "
                                                    "configuration breaks a rule, with `config_problems`")


class DocumentGetQuery(Model):
    include_spec: bool = False


class UpdateDocument(StrictModel):
    name: str | None = Field(None, min_length=1, max_length=255)
    version: str | None = Field(None, min_length=1, max_length=50)
    description: str | None = None
    base_url: str | None = Field(None, max_length=500)
    status: Literal["active", "inactive", "error"] | None = None
    server_index: int | None = Field(None, ge=0, le=49, description="follow this server of the spec")
    server_url: str | None = Field(None, max_length=2000, description="follow this server URL of the spec")
    server_variables: dict[str, ServerVariable] | None = Field(
        None, max_length=50, description="values for the spec's server variables (name -> value, in its enum); "
                                         "null: the spec's defaults")
    auth_config: dict | None = None
    rate_limit_config: dict | None = None
    timeout_config: dict | None = None
    health_check_config: dict | None = Field(None, description="{check_type, path, method, expected_status, "
                                                               "timeout_s}; null clears it")


class Reimport(StrictModel):
    template_id: str | None = None
    content: str | None = Field(None, min_length=1)
    content_type: ContentType | None = None
    version: str | None = Field(None, min_length=1, max_length=50)
    base_url: str | None = Field(None, max_length=500)


class ReimportQuery(Model):
    dry_run: bool = Field(False, description="answer the diff and write nothing")
    mode: Literal["merge", "overwrite"] = Field("merge", description="merge: endpoints the spec no longer has "
                                                                     "become inactive; overwrite: they are deleted")


class DocumentMeta(AsyncOptions):
    """Query-string metadata when the raw spec is the request body."""
    name: str | None = Field(None, min_length=1, max_length=255)
    version: str | None = Field(None, min_length=1, max_length=50)
    description: str | None = None
    base_url: str | None = Field(None, max_length=500)
    template_id: str | None = None
    content_type: ContentType | None = None


def _sort_pattern() -> str:
    """`sort` as list_endpoints reads it: fields, each `-`/`+`-prefixed or followed by ` asc`/` desc`."""
    from chalicelib.catalog.endpoints import ENDPOINT_SORTS
    names = "|".join(sorted(ENDPOINT_SORTS, key=len, reverse=True))
    item = f" *[-+]?(?:{names})(?: (?:[Aa][Ss][Cc]|[Dd][Ee][Ss][Cc]))? *"
    return f"^{item}(?:,{item})*$"


class EndpointQuery(PageQuery):
    document_id: UuidText | None = None
    tag: str | None = None
    method: list[Literal["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS",
                         "get", "put", "post", "delete", "patch", "head", "options"]] | None = None
    status: list[Literal["active", "inactive", "deprecated"]] | None = None
    text: str | None = None
    sort: str | None = Field(None, pattern=_sort_pattern(),
                             description="e.g. 'path', '-call_count', 'api_name,path desc'")


class EndpointGetQuery(Model):
    resolve: bool = True


class PatchEndpoint(StrictModel):
    status: Literal["active", "inactive", "deprecated"] | None = None
    timeout_ms: int | None = Field(None, ge=1, le=900_000)
    rate_limit_enabled: bool | None = None
    # the response cache (bounds: chalicelib.gateway.configs.CacheConfig); cache_ttl_seconds 0 turns it off
    cache_ttl_seconds: int | None = None
    cache_max_entries: int | None = None
    cache_max_body_bytes: int | None = None


class AuditQuery(PageQuery):
    table_name: Literal["openapi_templates", "api_documents", "api_endpoints", "resource_references"] | None = None
    record_id: UuidText | None = None
    operation: Literal["INSERT", "UPDATE", "DELETE", "insert", "update", "delete"] | None = None
