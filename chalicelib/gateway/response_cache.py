"""The gateway's response cache (seed 000 `api_endpoint_cache`), opt-in per endpoint.

    plan = response_cache.plan_for(target, built, auth_config, caller_key)
    plan.lookup(db) -> OutboundResponse | None     # a hit: the upstream is not called
    plan.store(resp, db)                            # after a call (never fails the call)
    purge(endpoint_id) -> {"endpoint_id", "removed"}  # DELETE /api/endpoints/{id}/cache (operator)

An endpoint is cached when its `cache_config` (PATCH /api/endpoints/{id}:
`cache_ttl_seconds` > 0, `cache_max_entries`, `cache_max_body_bytes`; checked
by chalicelib.gateway.configs.CacheConfig) is set and its method is GET or
HEAD. The key is a keyed hash (SecretBox.digest) of the full built request -
method, final URL with its query, headers, cookies - plus the credential the
gateway will add (the document's auth_config) and the caller's API key id, so
one caller or credential never gets another's answer. Each row carries the
endpoint's and document's `updated_at` (the version): a change of either -
PATCH of the endpoint, PUT of the document (any config), re-import - makes
every older row unservable, and the endpoint's next store deletes them.

Only 2xx answers are stored, never one with `Cache-Control: no-store`; the
TTL is capped by the upstream's `max-age`. Bodies over `cache_max_body_bytes`
are not stored; beyond `cache_max_entries` the oldest rows go (exact: stores
of one endpoint are serialised by an advisory lock). Expired rows of any
endpoint are removed in small batches by each store. `cache_data` is sealed
(encrypted like auth_config): headers and bodies as the upstream sent them,
Set-Cookie included, never in clear at rest.
"""
from __future__ import annotations

import base64
import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.gateway.invoke import Target
    from chalicelib.gateway.request_builder import BuiltRequest
    from chalicelib.net.outbound import OutboundResponse

log = logging.getLogger("stepflow")

CACHEABLE_METHODS = frozenset({"GET", "HEAD"})
SWEEP_BATCH = 200
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.I)

_LOOKUP = """
UPDATE api_endpoint_cache SET hit_count = hit_count + 1
WHERE endpoint_id = CAST(:e AS uuid) AND cache_key = :k AND version = :v AND expires_at > clock_timestamp()
RETURNING cache_data
"""
_STORE = """
INSERT INTO api_endpoint_cache (endpoint_id, cache_key, version, cache_data, body_bytes, cached_at, expires_at)
VALUES (CAST(:e AS uuid), :k, :v, CAST(:data AS jsonb), :n, clock_timestamp(),
        clock_timestamp() + make_interval(secs => :ttl))
ON CONFLICT (endpoint_id, cache_key) DO UPDATE SET version = EXCLUDED.version, cache_data = EXCLUDED.cache_data,
    body_bytes = EXCLUDED.body_bytes, cached_at = EXCLUDED.cached_at, expires_at = EXCLUDED.expires_at,
    hit_count = 0
"""
# After the store: the endpoint's rows of other versions, expired ones, and
# those beyond its newest :keep; then a batch of any endpoint's expired rows.
_TRIM = """
DELETE FROM api_endpoint_cache c
WHERE c.endpoint_id = CAST(:e AS uuid)
  AND (c.version <> :v OR c.expires_at <= clock_timestamp()
       OR c.cache_key IN (SELECT cache_key FROM api_endpoint_cache WHERE endpoint_id = CAST(:e AS uuid)
                          ORDER BY cached_at DESC, cache_key OFFSET :keep))
"""
_SWEEP = """
DELETE FROM api_endpoint_cache WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM api_endpoint_cache WHERE expires_at <= clock_timestamp() LIMIT :n))
"""


def version_of(t: "Target") -> str:
    return f"{t.e_updated}|{t.d_updated}"


def settings_of(t: "Target") -> Any:
    """The endpoint's checked CacheConfig, or None (not cached, or not GET/HEAD)."""
    cfg = getattr(t, "cache_config", None)
    if not cfg or str(t.method).upper() not in CACHEABLE_METHODS:
        return None
    from chalicelib.gateway import configs

    if isinstance(cfg, str):
        cfg = json.loads(cfg)
    model = configs.for_use("cache_config", cfg, t.api_document_id)
    return model if model is not None and model.cache_ttl_seconds > 0 else None


def request_key(built: "BuiltRequest", auth_config: dict | None, caller_key: str | None) -> str:
    """The keyed hash of everything that makes one answer another caller's or another request's."""
    from chalicelib.secrets import get_box

    material = json.dumps({
        "method": built.method, "url": built.url,
        "headers": sorted((k.lower(), str(v)) for k, v in built.headers.items()),
        "cookies": sorted((str(k), str(v)) for k, v in built.cookies.items()),
        "body": base64.b64encode(built.body).decode("ascii") if built.body else None,
        "credential": auth_config, "caller": caller_key,
    }, sort_keys=True, separators=(",", ":"), default=str)
    return get_box().digest(material.encode("utf-8"))


def _ttl(resp: "OutboundResponse", ttl_s: int) -> int:
    """The seconds to keep `resp` (0: do not store)."""
    if not 200 <= resp.status_code < 300:
        return 0
    control = ", ".join(v for k, v in resp.header_items if k.lower() == "cache-control") if resp.header_items \
        else (resp.headers.get("Cache-Control") or "")
    if "no-store" in control.lower():
        return 0
    m = _MAX_AGE.search(control)
    return min(ttl_s, int(m.group(1))) if m else ttl_s


def _sealed(resp: "OutboundResponse") -> str:
    from chalicelib.secrets import get_box

    return json.dumps(get_box().seal({
        "status": resp.status_code, "reason": resp.reason, "url": resp.url,
        "headers": [[k, v] for k, v in (resp.header_items or list(resp.headers.items()))],
        "content": base64.b64encode(resp.content).decode("ascii"), "content_encoding": resp.content_encoding,
    }))


def _response(sealed: Any) -> "OutboundResponse":
    from requests.structures import CaseInsensitiveDict

    from chalicelib.net.outbound import OutboundResponse
    from chalicelib.secrets import get_box

    data = get_box().unseal(sealed)
    items = [(str(k), str(v)) for k, v in data["headers"]]
    folded: dict[str, str] = {}
    for k, v in items:
        folded[k] = f"{folded[k]}, {v}" if k in folded else v
    return OutboundResponse(status_code=int(data["status"]), reason=data.get("reason") or "",
                            headers=CaseInsensitiveDict(folded), content=base64.b64decode(data["content"]),
                            url=data.get("url") or "", address="", elapsed_ms=0.0, header_items=items,
                            content_encoding=data.get("content_encoding"))


@dataclass(frozen=True)
class CachePlan:
    endpoint_id: str
    key: str
    version: str
    ttl_s: int
    max_entries: int
    max_body_bytes: int

    def lookup(self, db) -> "OutboundResponse | None":
        """The stored answer, or None (a miss; also when the cache cannot be read)."""
        try:
            row = db.one(_LOOKUP, e=self.endpoint_id, k=self.key, v=self.version)
            return _response(row["cache_data"]) if row else None
        except Exception as exc:  # noqa: BLE001 - a cache that cannot be read is a miss, never a failed call
            log.warning("response cache read for endpoint %s failed: %s", self.endpoint_id, type(exc).__name__)
            return None

    def store(self, resp: "OutboundResponse", db) -> bool:
        """Keep `resp` when it may be cached; True when stored. Never raises."""
        ttl = _ttl(resp, self.ttl_s)
        if ttl <= 0 or len(resp.content) > self.max_body_bytes:
            return False
        try:
            data = _sealed(resp)
            with db.transaction():
                db.scalar("SELECT pg_advisory_xact_lock(hashtextextended(:lock, 0))", lock=f"cache:{self.endpoint_id}")
                db.execute(_STORE, e=self.endpoint_id, k=self.key, v=self.version, data=data,
                           n=len(resp.content), ttl=ttl)
                db.execute(_TRIM, e=self.endpoint_id, v=self.version, keep=self.max_entries)
                db.execute(_SWEEP, n=SWEEP_BATCH)
            return True
        except Exception as exc:  # noqa: BLE001 - the call already happened; caching it is best effort
            log.warning("response cache write for endpoint %s failed: %s", self.endpoint_id, type(exc).__name__)
            return False


def plan_for(t: "Target", built: "BuiltRequest", auth_config: dict | None,
             caller_key: str | None) -> CachePlan | None:
    """How this call uses the cache, or None when the endpoint is not cached."""
    cfg = settings_of(t)
    if cfg is None or built.method not in CACHEABLE_METHODS:
        return None
    from chalicelib.errors import SystemError_

    try:
        key = request_key(built, auth_config, caller_key)
    except SystemError_ as exc:  # no SECRET_KEYS: nothing can be sealed, so nothing is cached
        log.warning("response cache off for endpoint %s: %s", t.id, exc.message)
        return None
    return CachePlan(str(t.id), key, version_of(t), cfg.cache_ttl_seconds, cfg.cache_max_entries,
                     cfg.cache_max_body_bytes)


def clear(endpoint_id: str, db) -> int:
    """Remove an endpoint's cached answers (its cache settings changed)."""
    return db.execute("DELETE FROM api_endpoint_cache WHERE endpoint_id = CAST(:e AS uuid)", e=endpoint_id)


_PURGE_SQL = (
    "WITH ep AS (SELECT id FROM api_endpoints WHERE id = CAST(:e AS uuid)),"
    " del AS (DELETE FROM api_endpoint_cache WHERE endpoint_id IN (SELECT id FROM ep) RETURNING 1)"
    " SELECT (SELECT COUNT(*) FROM ep) AS found, (SELECT COUNT(*) FROM del) AS removed")


def purge(endpoint_id: str, db=None) -> dict:
    """DELETE /api/endpoints/{id}/cache: every cached answer of the endpoint
    (expired or not) removed in one statement -> {"endpoint_id", "removed"};
    404 for an unknown endpoint. A call already under way may store its
    answer afterwards (a fresh entry of the current version)."""
    from chalicelib.db import get_db
    from chalicelib.errors import NotFound

    row = (db or get_db()).one(_PURGE_SQL, e=endpoint_id)
    if not row or not row["found"]:
        raise NotFound(f"endpoint {endpoint_id} not found")
    return {"endpoint_id": endpoint_id, "removed": int(row["removed"])}
