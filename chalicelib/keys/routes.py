"""Management API keys (admin)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.web.models import StrictModel

from chalicelib.web.api import ApiBlueprint, Ctx, PageQuery, Reply, page_of, uuid_param

bp = ApiBlueprint(__name__, tag="keys")


class CreateKey(StrictModel):
    role: Literal["admin", "operator", "viewer"]
    name: str | None = Field(None, max_length=255)
    permissions: list[str] = Field(default_factory=list, description="permission strings checked by dynamic APIs")


@bp.api("/api/keys", "POST", role="admin", body=CreateKey, status=201, summary="Create an API key (shown once)")
def create_key(ctx: Ctx):
    from chalicelib.keys import service
    b: CreateKey = ctx.body
    row = service.create_key(b.role, b.permissions, b.name, created_by=ctx.principal.key_id)
    return Reply(row, "API key created; store it now, it is not shown again", 201)


@bp.api("/api/keys", "GET", role="admin", query=PageQuery, summary="List API keys (never shows a key)")
def list_keys(ctx: Ctx):
    from chalicelib.keys import service
    items, total = service.list_keys(ctx.query.limit, ctx.query.offset)
    return page_of(items, total, ctx.query.limit, ctx.query.offset)


@bp.api("/api/keys/{key_id}", "DELETE", role="admin", summary="Revoke an API key")
def revoke_key(ctx: Ctx, key_id: str):
    from chalicelib.keys import service
    return Reply(service.revoke_key(uuid_param(key_id, "key_id")), "API key revoked")
