"""Management API keys (admin)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.web.api import ApiBlueprint, Ctx, LazyModels, Reply, page_of, uuid_param

if TYPE_CHECKING:
    from chalicelib.keys import models
    from chalicelib.web import models as web_models
else:  # imported on the first request that needs them (cold start)
    models = LazyModels("chalicelib.keys.models")
    web_models = LazyModels("chalicelib.web.models")

bp = ApiBlueprint(__name__, tag="keys")


@bp.api("/api/keys", "POST", role="admin", body=models.CreateKeyWithLimits, status=201,
        summary="Create an API key (shown once), optionally with its quota")
def create_key(ctx: Ctx):
    from chalicelib.keys import service
    b: models.CreateKeyWithLimits = ctx.body
    row = service.create_key(b.role, b.permissions, b.name, created_by=ctx.caller.key_id,
                             rate_per_minute=b.rate_per_minute, max_concurrent=b.max_concurrent)
    return Reply(row, "API key created; store it now, it is not shown again", 201)


@bp.api("/api/keys", "GET", role="admin", query=web_models.PageQuery,
        summary="List API keys (never shows a key)")
def list_keys(ctx: Ctx):
    from chalicelib.keys import service
    items, total = service.list_keys(ctx.query.limit, ctx.query.offset)
    return page_of(items, total, ctx.query.limit, ctx.query.offset)


@bp.api("/api/keys/{key_id}", "PATCH", role="admin", body=models.UpdateKey,
        summary="Change a key's name, permissions or quota (rate_per_minute, max_concurrent)")
def update_key(ctx: Ctx, key_id: str):
    from chalicelib.keys import service
    b: models.UpdateKey = ctx.body
    changes = {k: getattr(b, k) for k in b.model_fields_set}
    return Reply(service.update_key(uuid_param(key_id, "key_id"), **changes), "API key updated")


@bp.api("/api/keys/{key_id}", "DELETE", role="admin", summary="Revoke an API key")
def revoke_key(ctx: Ctx, key_id: str):
    from chalicelib.keys import service
    return Reply(service.revoke_key(uuid_param(key_id, "key_id")), "API key revoked")
