"""POST /api/endpoints/{id}/invoke: the gateway's call path.

    result = invoke_endpoint(endpoint_id, InvokeInput(...), timeout_ms=None,
                             client_ip=..., user_agent=..., reference_id=None)
    -> {"status_code", "headers", "body", "body_encoding", "response_time_ms", "log_id"}

Order: load endpoint + document (one query, cached briefly: chalicelib.gateway.targets) -> 409 when
inactive -> validate and build the request at the endpoint's effective server (catalog.servers;
400, nothing sent) -> the spec's security requirements given by the
auth_config or the caller (gateway.security; 400 naming the schemes) ->
rate limit (429) -> upstream auth
-> outbound guard call with timeouts, opt-in retries and one OAuth2 refresh
on 401 -> one log row + statistics (one statement) -> answer (`answer.finish`).
An endpoint with a cache_config answers GET/HEAD from the response cache
(chalicelib.gateway.response_cache) after the rate limit; a hit calls no upstream.
An upstream 4xx/5xx is data; a timeout is 408, a connection failure 502, both logged.
A deprecated endpoint (spec `deprecated: true` or status) answers
`"deprecated": true` and `"deprecated_at"` (the route adds RFC 9745's
`Deprecation: @<unix seconds>` and, when the spec links documentation,
`Link: <url>; rel="deprecation"`: gateway.deprecation) and its log row is
flagged.

`timeout_config` (document): {"connect_ms", "read_ms", "retries",
"retry_backoff_ms", "retry_max_backoff_ms", "retry_on": [502, 503, 504]}.
The document's three configurations are checked by the typed validators of
chalicelib.gateway.configs (the same ones the save routes use); a stored one
that breaks a rule is a 409 naming it. Retries are opt-in (retries > 0) and
only for idempotent methods.
"""
from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import dataclass, fields
from typing import Any, cast

from chalicelib import observability, spans
from chalicelib.catalog.refs import ref_tokens
from chalicelib.catalog.servers import effective_base
from chalicelib.db import get_db
from chalicelib.errors import AppError, Conflict, NotFound, UpstreamError
from chalicelib.gateway import ratelimit, response_cache, schemas, security, targets, upstream_auth
from chalicelib.gateway.answer import Caller, Outcome, finish
from chalicelib.gateway.limits import MAX_INVOKE_TIMEOUT_MS
from chalicelib.gateway.request_builder import InvokeInput, build_request

log = logging.getLogger("stepflow")

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
DEFAULT_RETRY_ON = (502, 503, 504)

_LOAD_SQL = """
SELECT e.id, e.api_document_id, e.path, e.method, e.parameters, e.request_body_schema, e.timeout_ms,
       e.rate_limit_enabled, e.status, e.updated_at::text AS e_updated, e.cache_config,
       e.security, e.security_schemes, e.servers, e.is_deprecated,
       FLOOR(EXTRACT(EPOCH FROM COALESCE(e.deprecated_at, e.updated_at)))::bigint AS deprecated_epoch,
       CASE WHEN e.is_deprecated OR e.status = 'deprecated' THEN
         COALESCE(d.parsed_spec #>> ARRAY['paths', e.path, lower(e.method), 'externalDocs', 'url'],
                  d.parsed_spec #>> '{externalDocs,url}') END AS deprecation_docs,
       d.status AS document_status, d.base_url, d.auth_config, d.rate_limit_config, d.timeout_config,
       d.updated_at::text AS d_updated
FROM api_endpoints e JOIN api_documents d ON d.id = e.api_document_id
WHERE e.id = CAST(:id AS uuid)
"""
_LOAD_SQL = " ".join(_LOAD_SQL.split())


@dataclass(frozen=True)
class Target:
    """An endpoint with what calling it needs from its document (one row of `_LOAD_SQL`)."""

    id: Any
    api_document_id: Any
    path: str
    method: str
    parameters: Any
    request_body_schema: Any
    timeout_ms: int | None
    rate_limit_enabled: bool
    status: str
    e_updated: str
    document_status: str
    base_url: str
    auth_config: Any
    rate_limit_config: Any
    timeout_config: Any
    d_updated: str
    cache_config: Any = None
    security: Any = None            # the spec's requirements and schemes (gateway.security)
    security_schemes: Any = None
    servers: Any = None             # the endpoint's own servers (catalog.servers)
    is_deprecated: bool = False
    deprecated_epoch: int | None = None   # when it became deprecated (unix seconds; RFC 9745)
    deprecation_docs: str | None = None   # the operation's (else the document's) externalDocs URL

    @property
    def deprecated(self) -> bool:
        return self.is_deprecated or self.status == "deprecated"

    @classmethod
    def from_row(cls, row: dict) -> "Target":
        return cls(**{f.name: row[f.name] for f in fields(cls) if f.name in row})


def load_target(endpoint_id: str, db=None) -> Target:
    row = (db or get_db()).one(_LOAD_SQL, id=endpoint_id)
    if row is None:
        raise NotFound(f"endpoint {endpoint_id} not found")
    return Target.from_row(row)


def ensure_callable(t: Target) -> None:
    if t.status == "inactive":
        raise Conflict(f"endpoint {t.id} is inactive and refuses calls",
                       {"endpoint_id": str(t.id), "endpoint_status": t.status})
    if t.document_status != "active":
        raise Conflict(f"the endpoint's document is {t.document_status} and refuses calls",
                       {"endpoint_id": str(t.id), "document_id": str(t.api_document_id),
                        "document_status": t.document_status})


# ------------------------------------------------------------ per-container caches

_LRU_MAX = 256
_auth_cache: dict[str, dict] = {}
_sensitive_cache: dict[str, upstream_auth.Sensitive] = {}   # by the same ciphertext as _auth_cache
_components_cache: dict[tuple, dict] = {}
_needs_components: dict[tuple, bool] = {}
_cache_lock = threading.Lock()


def _remember(cache: dict, key, value):
    with _cache_lock:
        if len(cache) >= _LRU_MAX:
            cache.pop(next(iter(cache)))
        cache[key] = value
    return value


def auth_config_of(t: Target) -> dict | None:
    """The document's decrypted auth_config (cached by ciphertext)."""
    stored = t.auth_config
    if not stored:
        return None
    if isinstance(stored, str):
        stored = json.loads(stored)
    if isinstance(stored, dict) and "_enc" in stored:
        token = stored["_enc"]
        cfg = _auth_cache.get(token)
        if cfg is None:
            from chalicelib.secrets import get_box

            cfg = get_box().unseal(stored)
            cfg = _remember(_auth_cache, token, _checked(cfg, t))
        return cfg
    return _checked(stored, t)  # unsealed (written before encryption was configured)


def sensitive_of(t: Target, cfg: dict | None) -> upstream_auth.Sensitive:
    """`upstream_auth.sensitive_for(cfg)` for this call (its own copy): worked out once per
    sealed auth_config (cached by ciphertext, like the config itself)."""
    stored = t.auth_config
    token = stored.get("_enc") if isinstance(stored, dict) else None
    if not isinstance(token, str):
        return upstream_auth.sensitive_for(cfg)
    known = _sensitive_cache.get(token)
    if known is None:
        known = _remember(_sensitive_cache, token, upstream_auth.sensitive_for(cfg))
    return known.copy()


def _checked(cfg, t: Target):
    from chalicelib.gateway import configs

    return configs.as_dict(configs.for_use("auth_config", cfg, t.api_document_id))


def _has_ref(node) -> bool:
    if isinstance(node, dict):
        return "$ref" in node or any(_has_ref(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_ref(v) for v in node)
    return False


def components_of(t: Target, db=None) -> dict | None:
    """The document's converted components, loaded only when the endpoint's
    schemas use `$ref` (cached per document version)."""
    ekey = (str(t.id), t.e_updated)
    needs = _needs_components.get(ekey)
    if needs is None:
        needs = _remember(_needs_components, ekey, _has_ref(t.parameters) or _has_ref(t.request_body_schema))
    if not needs:
        return None
    dkey = (str(t.api_document_id), t.d_updated)
    comps = _components_cache.get(dkey)
    if comps is None:
        raw = (db or get_db()).scalar(
            "SELECT parsed_spec -> 'components' FROM api_documents WHERE id = CAST(:id AS uuid)",
            id=str(t.api_document_id))
        if isinstance(raw, str):
            raw = json.loads(raw)
        comps = _remember(_components_cache, dkey, schemas.convert_components(raw or {}))
    return comps


def _resolver(components: dict | None):
    def resolve(schema):
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and components and seen < 16:
            ref = schema["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/components/"):
                return schema
            node: Any = components
            for token in ref_tokens(ref)[1:]:
                node = node.get(token) if isinstance(node, dict) else None
            if node is None:
                return schema
            schema, seen = node, seen + 1
        return schema

    return resolve


def _checker(t: Target, components: dict | None):
    version = (str(t.id), t.e_updated, t.d_updated)

    def check(key: tuple, schema, value, loc):
        return schemas.problems(schema, value, loc, components, key=version + key)

    return check


# ----------------------------------------------------------------- settings


@dataclass
class CallPlan:
    total_s: float
    connect_s: float
    read_s: float
    retries: int
    backoff_s: float
    max_backoff_s: float
    retry_on: tuple


def call_plan(t: Target, timeout_ms: int | None) -> CallPlan:
    """Timeouts and retries of one call: the document's timeout_config (checked
    by chalicelib.gateway.configs), capped by the call's own limit."""
    from chalicelib.gateway import configs

    cfg = t.timeout_config
    if isinstance(cfg, str):
        cfg = json.loads(cfg)
    c = configs.for_use("timeout_config", cfg, t.api_document_id) or configs.TimeoutConfig.model_validate({})
    total_ms = min(float(timeout_ms or t.timeout_ms or 30_000), MAX_INVOKE_TIMEOUT_MS)
    connect_ms = c.connect_ms or min(5_000.0, total_ms)
    read_ms = c.read_ms or total_ms
    return CallPlan(
        total_s=total_ms / 1000,
        connect_s=min(connect_ms, total_ms) / 1000,
        read_s=min(read_ms, total_ms) / 1000,
        retries=c.retries,
        backoff_s=(c.retry_backoff_ms if c.retry_backoff_ms is not None else 100.0) / 1000,
        max_backoff_s=(c.retry_max_backoff_ms if c.retry_max_backoff_ms is not None else 2_000.0) / 1000,
        retry_on=tuple(c.retry_on or DEFAULT_RETRY_ON),
    )


def response_limit() -> int:
    from chalicelib.settings import get_settings

    return get_settings().gateway_max_response_bytes



# ------------------------------------------------------------------ invoke


def invoke_endpoint(endpoint_id: str, inp: InvokeInput, *, timeout_ms: int | None = None,
                    client_ip: str | None = None, user_agent: str | None = None,
                    reference_id: str | None = None, db=None, target: Target | None = None,
                    caller_key: str | None = None) -> dict:
    from chalicelib.net import outbound

    with spans.span("load"):
        if target is not None:
            t = target
        elif db is not None:   # a caller's own connection (a transaction) reads its own writes
            t = load_target(endpoint_id, db)
        else:
            t = targets.get(endpoint_id, lambda: load_target(endpoint_id))
        ensure_callable(t)
        components = components_of(t, db)
    with spans.span("build"):
        built = build_request(t.method, t.path, t.parameters, t.request_body_schema,
                              effective_base(t.servers, t.base_url), inp,
                              check=_checker(t, components), resolve=_resolver(components))
        cfg = auth_config_of(t)
        use = security.credentials_for(t, cfg, inp)  # 400 when the spec's security is not given

    if t.rate_limit_enabled:
        limit = ratelimit.parse_limit(t.rate_limit_config, t.api_document_id)
        if limit is not None:
            bucket = f"doc:{t.api_document_id}" if limit.scope == "document" else f"ep:{t.id}"
            ratelimit.check(bucket, limit)

    with spans.span("prepare"):
        sensitive = sensitive_of(t, cfg)
        plan = call_plan(t, timeout_ms)
        policy = outbound.policy_from_settings(max_bytes=response_limit())
    caller = Caller(client_ip, user_agent, reference_id)

    started = time.perf_counter()
    cache = response_cache.plan_for(t, built, cfg, caller_key)
    if cache is not None:
        hit = cache.lookup(db or get_db())
        if hit is not None:
            return finish(Outcome(target=t, built=built, inp=inp, response=hit, failure=None, attempts=0,
                                  elapsed_ms=int(round((time.perf_counter() - started) * 1000)),
                                  sensitive=sensitive, cache_status="hit"), caller, db)
    deadline = started + plan.total_s
    attempts = 0
    refreshed = False
    stale = None
    resp = None
    failure: AppError | None = None
    token = None
    while True:
        attempts += 1
        remaining = deadline - time.perf_counter()
        try:
            if remaining <= 0:
                raise outbound.OutboundTimeout(f"the call did not complete within {plan.total_s:g} s",
                                               {"phase": "total"})
            token = upstream_auth.apply(cfg, built, policy, stale_token=stale, sensitive=sensitive, use=use)
            stale = None
            headers = dict(built.headers)
            if built.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in built.cookies.items())
            resp = outbound.fetch(
                built.url, method=built.method, headers=headers, body=built.body, policy=policy,
                connect_timeout=min(plan.connect_s, remaining), read_timeout=min(plan.read_s, remaining),
                total_timeout=remaining, sensitive_headers=sensitive.headers)
            failure = None
        except outbound.OutboundFailure as exc:
            resp, failure = None, cast(AppError, exc)   # each outbound failure class is also a typed error
        except UpstreamError as exc:  # OAuth2 token endpoint failure
            resp, failure = None, exc
        if resp is not None and resp.status_code == 401 and upstream_auth.uses_oauth2(cfg, use) and not refreshed:
            refreshed = True  # the cached token was refused: fetch a new one once
            stale = token
            attempts -= 1
            continue
        retryable = built.method in IDEMPOTENT and attempts <= plan.retries and (
            (failure is not None and getattr(failure, "error_type", None) == "connection")
            or (resp is not None and resp.status_code in plan.retry_on))
        if not retryable:
            break
        pause = random.uniform(0, min(plan.max_backoff_s, plan.backoff_s * (2 ** (attempts - 1))))
        if time.perf_counter() + pause >= deadline:
            break
        time.sleep(pause)
    elapsed_ms = int(round((time.perf_counter() - started) * 1000))
    spans.add("upstream", started)   # the call loop: upstream auth, the guard, the upstream itself
    observability.record_invoke(t, resp, failure, elapsed_ms)
    if cache is not None and resp is not None:
        cache.store(resp, db or get_db())

    outcome = Outcome(target=t, built=built, inp=inp, response=resp, failure=failure, elapsed_ms=elapsed_ms,
                      attempts=attempts, sensitive=sensitive, cache_status="miss" if cache is not None else None)
    with spans.span("finish"):   # masking, body shaping and the log write (its own span)
        return finish(outcome, caller, db)
