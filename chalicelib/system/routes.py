"""Health, init-db and the service's own OpenAPI description."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.web import envelope
from chalicelib.web.api import ApiBlueprint, Ctx, LazyModels, Reply

if TYPE_CHECKING:
    from chalicelib.system import models
else:  # imported on the first request that needs them (cold start)
    models = LazyModels("chalicelib.system.models")

bp = ApiBlueprint(__name__, tag="system")


@bp.api("/api/health", "GET", role=None, summary="Service health (PostgreSQL, Redis), public")
def get_health(ctx: Ctx):
    from chalicelib.settings import get_settings
    from chalicelib.system import health
    report, healthy = health.check(get_settings())
    report["last_check"] = envelope.utc_now_iso()
    if healthy:
        return Reply(report, "healthy")
    return envelope.json_response(
        {"success": False, "data": report,
         "error": {"code": "SERVICE_UNAVAILABLE", "message": "a configured dependency is down",
                   "details": {k: v for k, v in report["dependencies"].items() if v["status"] == "down"}},
         "timestamp": envelope.utc_now_iso(), "request_id": envelope.request_id()}, 503)


@bp.api("/api/init-db", "POST", role="admin", summary="Apply pending database migrations")
def init_db(ctx: Ctx):
    from chalicelib.catalog.backfill import backfill_endpoint_security
    from chalicelib.db import get_db
    from chalicelib.db.migrate import migrate
    result = migrate(get_db())
    backfill = backfill_endpoint_security(get_db())
    msg = f"database initialised: {len(result['applied'])} migration(s) applied"
    return Reply({"tables_created": result["tables_created"], "migrations_applied": result["applied"],
                  "endpoint_security_backfill": backfill}, msg)


@bp.api("/api/openapi.json", "GET", role=None, summary="This API's OpenAPI 3.1 description", raw_response=True)
def openapi_json(ctx: Ctx):
    from chalicelib.settings import get_settings
    from chalicelib.web.openapi import build_openapi
    return envelope.json_response(build_openapi(get_settings().app_version))


@bp.api("/api/metrics/routes", "GET", role="admin", query=models.RouteMetricsQuery,
        summary="Management API metrics per route (and per key): requests, error rate, avg/p50/p95/p99 latency")
def route_metrics(ctx: Ctx):
    from chalicelib.web import access_log
    q = ctx.query
    items = access_log.route_metrics(access_log.WINDOWS[q.window], route=q.route, method=q.method,
                                     api_key_id=q.api_key_id, by_key=q.by_key)
    return {"window": q.window, "items": items, "total": len(items), "has_more": False}
