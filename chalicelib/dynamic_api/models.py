"""Request and query models of the dynamic API routes, imported on the first
request that needs them (routes name them as "chalicelib.dynamic_api.models:CreatePool";
Lambda cold start)."""
from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, field_validator

from chalicelib.models import StrictModel
from chalicelib.web.models import PageQuery

from .dialects import DB_TYPE_NAMES

# db_type is checked by chalicelib.dynamic_api.dialects.normalize_db_type (any case, its aliases,
# a 400 listing the supported ones); the description lists the names it takes.
DbType = Annotated[str, Field(max_length=64, json_schema_extra={"enum": list(DB_TYPE_NAMES)})]


class CreatePool(StrictModel):
    display_text: str = Field(..., min_length=1, max_length=64)
    connection_string: str | None = Field(None, max_length=256, description="a password in it is moved to "
                                          "`password` (encrypted) and shown as '********'")
    db_type: DbType = Field(..., description="postgresql or mysql")
    host: str = Field(..., min_length=1, max_length=100)
    port: int = Field(..., ge=1, le=65535)
    username: str | None = Field(None, max_length=32)
    password: str | None = Field(None, max_length=128, description="stored encrypted, never returned")
    database: str = Field(..., min_length=1, max_length=128)
    is_active: bool = True
    pool_size: int = Field(5, ge=1, le=100)
    max_concurrency: int = Field(10, ge=1, le=1000)
    remark: str | None = None
    access: dict[str, Any] | None = Field(None, description='{"write_roles": [...], "read_roles": [...]}; '
                                          'default: writes admin, reads admin and operator')


def _not_nullable(schema: dict) -> None:
    """The description of UpdatePool: the NOT_NULL fields may be left out, not sent as null."""
    for name in UpdatePool.NOT_NULL:
        prop = schema["properties"][name]
        kept = [a for a in prop.pop("anyOf", []) if a.get("type") != "null"]
        prop.pop("default", None)
        if kept:
            prop.update(kept[0])


class UpdatePool(StrictModel):
    """Absent fields keep their stored value; NOT_NULL ones may not be set to null."""
    NOT_NULL: ClassVar[tuple[str, ...]] = ("display_text", "db_type", "host", "port", "database", "is_active",
                                           "pool_size", "max_concurrency")
    model_config = ConfigDict(json_schema_extra=_not_nullable)

    display_text: str | None = Field(None, min_length=1, max_length=64)
    connection_string: str | None = Field(None, max_length=256)
    db_type: DbType | None = None
    host: str | None = Field(None, min_length=1, max_length=100)
    port: int | None = Field(None, ge=1, le=65535)
    username: str | None = Field(None, max_length=32)
    password: str | None = Field(None, max_length=128, description="'********' or absent keeps the stored one")
    database: str | None = Field(None, min_length=1, max_length=128)
    is_active: bool | None = None
    pool_size: int | None = Field(None, ge=1, le=100)
    max_concurrency: int | None = Field(None, ge=1, le=1000)
    remark: str | None = None
    access: dict[str, Any] | None = None

    @field_validator(*NOT_NULL)
    @classmethod
    def _given_not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be left out, not set to null")
        return value


class ParameterIn(StrictModel):
    name: str = Field(..., min_length=1, max_length=64)
    display_text: str | None = Field(None, max_length=128)
    data_type: str = Field("string", max_length=32)
    param_type: str = Field("query", max_length=32)
    multiple: bool = False
    required: bool = False
    default_value: Any = None
    sensitive: bool = False
    rank: int | None = None


class CreateDefinition(StrictModel):
    name: str = Field(..., min_length=1, max_length=64)
    category: str = Field("default", max_length=32)
    connection_pool_id: str
    http_method: str = Field("GET", max_length=10)
    script_template: str = Field(..., min_length=1, max_length=65536)
    script_type: str = Field("sql", max_length=16)
    template_engine: str = Field("liquid", max_length=32)
    is_multiple_result: bool | None = None
    is_paging: bool = False
    is_sorting: bool = False
    permissions: list[str] = Field(default_factory=list)
    rank: int = 0
    remark: str | None = None
    sortable_columns: list[str] = Field(default_factory=list)
    default_sorting: str | None = Field(None, max_length=256)
    max_page_size: int = Field(100, ge=1, le=10000)
    timeout_ms: int = Field(10000, description="at most 29000 (synchronous route)")
    max_rows: int | None = Field(None, description="rows one invocation may return; default and cap: "
                                 "DYNAMIC_API_MAX_ROWS")
    parameters: list[ParameterIn] = Field(default_factory=list)


class UpdateDefinition(StrictModel):
    name: str | None = Field(None, min_length=1, max_length=64)
    category: str | None = Field(None, max_length=32)
    connection_pool_id: str | None = None
    http_method: str | None = Field(None, max_length=10)
    script_template: str | None = Field(None, min_length=1, max_length=65536)
    script_type: str | None = Field(None, max_length=16)
    template_engine: str | None = Field(None, max_length=32)
    is_multiple_result: bool | None = None
    is_paging: bool | None = None
    is_sorting: bool | None = None
    permissions: list[str] | None = None
    rank: int | None = None
    remark: str | None = None
    sortable_columns: list[str] | None = None
    default_sorting: str | None = Field(None, max_length=256)
    max_page_size: int | None = Field(None, ge=1, le=10000)
    timeout_ms: int | None = None
    max_rows: int | None = None
    parameters: list[ParameterIn] | None = None


class DefinitionQuery(PageQuery):
    status: Literal["draft", "published", "offline"] | None = None
    category: str | None = None


class PublishBody(StrictModel):
    permissions: list[str] | None = Field(None, description="replaces the permission list; empty = public")


class TestBody(StrictModel):
    params: dict[str, Any] = Field(default_factory=dict)
