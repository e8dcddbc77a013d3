"""Upstream authentication from a document's `auth_config` (DESIGN 13).

    {"type": "apiKey", "in": "header"|"query"|"cookie", "name", "value"}
    {"type": "http", "scheme": "bearer", "token"}
    {"type": "http", "scheme": "basic", "username", "password"}
    {"type": "oauth2", "flow": "client_credentials", "token_url", "client_id",
     "client_secret", "scopes", "client_auth"?: "basic"|"body", "audience"?}
    any of them (or {"type": "none"}) may add "headers": {...}, and
    "forward_authorization": true to pass the caller's own Authorization on.
    {"type": "schemes", "schemes": {spec scheme name: one of the above}, "headers"?,
     "forward_authorization"?}: `apply(..., use=[names])` sends the entries
    of the names given (chalicelib.gateway.security picks them per call).

OAuth2 tokens are fetched through the outbound guard, cached per container
until shortly before they expire (one fetch at a time per client), and
refreshed once when the upstream answers 401 (see `invoke`). The shape is
checked by chalicelib.gateway.configs (on save and on use); this module
applies an already-checked config.
"""
from __future__ import annotations

import base64
import hashlib
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote

from chalicelib import masking
from chalicelib.errors import UpstreamError

TOKEN_EXPIRY_SKEW_S = 30
DEFAULT_TOKEN_TTL_S = 3600


@dataclass
class Sensitive:
    """Names and clear values that must never reach a log or a response."""

    headers: set[str] = field(default_factory=lambda: {"authorization", "cookie", "set-cookie", "x-api-key",
                                                         "proxy-authorization"})
    query: set[str] = field(default_factory=set)
    cookies: set[str] = field(default_factory=set)
    values: set[str] = field(default_factory=set)

    def copy(self) -> "Sensitive":
        """An independent copy (a call adds to its own: an OAuth2 token it fetched)."""
        return Sensitive(set(self.headers), set(self.query), set(self.cookies), set(self.values))


def sensitive_for(cfg: dict | None) -> Sensitive:
    """What `cfg` makes secret in one call: its apiKey and extra-header names, and its clear
    values (the masker's rule for an auth config) plus the Basic credential they encode."""
    s = Sensitive()
    if not cfg:
        return s
    for entry in (cfg.get("schemes") or {}).values():
        one = sensitive_for(entry)
        s.headers |= one.headers
        s.query |= one.query
        s.cookies |= one.cookies
        s.values |= one.values
    kind = cfg.get("type")
    if kind == "apiKey" and cfg.get("name"):
        {"header": s.headers, "query": s.query, "cookie": s.cookies}[cfg.get("in", "header")].add(
            cfg["name"].lower() if cfg.get("in", "header") == "header" else cfg["name"])
    for name in (cfg.get("headers") or {}):
        s.headers.add(name.lower())
    s.values.update(masking.secret_values(cfg, auth=True))
    if kind == "http" and str(cfg.get("scheme", "")).lower() == "basic" and cfg.get("password"):
        s.values.add(base64.b64encode(f"{cfg.get('username', '')}:{cfg['password']}".encode()).decode())
    return s


# ---------------------------------------------------------------- OAuth2 tokens

_tokens: dict[str, tuple[str, float]] = {}
_token_locks: dict[str, threading.Lock] = {}
_tokens_guard = threading.Lock()


def _token_key(cfg: dict) -> str:
    scopes = cfg.get("scopes") or []
    scopes = scopes.split() if isinstance(scopes, str) else list(scopes)
    raw = "\x00".join([cfg["token_url"], cfg["client_id"], " ".join(sorted(scopes)), str(cfg.get("audience") or ""),
                       hashlib.sha256(cfg["client_secret"].encode()).hexdigest()])
    return hashlib.sha256(raw.encode()).hexdigest()


def clear_token_cache() -> None:
    with _tokens_guard:
        _tokens.clear()


def oauth2_token(cfg: dict, policy, *, stale: str | None = None) -> str:
    """A cached client-credentials access token, fetched when missing or
    expired, or when the cached one is `stale` (the upstream refused it).
    One fetch at a time per client; waiting callers reuse its result."""
    key = _token_key(cfg)
    cached = _tokens.get(key)
    if cached and cached[1] > time.time() and cached[0] != stale:
        return cached[0]
    with _tokens_guard:
        lock = _token_locks.setdefault(key, threading.Lock())
    with lock:
        cached = _tokens.get(key)
        if cached and cached[1] > time.time() and cached[0] != stale:
            return cached[0]
        token, ttl = _fetch_token(cfg, policy)
        _tokens[key] = (token, time.time() + max(ttl - TOKEN_EXPIRY_SKEW_S, min(ttl, 5.0)))
        return token


def _fetch_token(cfg: dict, policy) -> tuple[str, float]:
    from chalicelib.net import outbound

    scopes = cfg.get("scopes") or []
    scope_text = scopes if isinstance(scopes, str) else " ".join(scopes)
    form = {"grant_type": "client_credentials"}
    if scope_text:
        form["scope"] = scope_text
    if cfg.get("audience"):
        form["audience"] = cfg["audience"]
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if cfg.get("client_auth", "basic") == "body":
        form["client_id"] = cfg["client_id"]
        form["client_secret"] = cfg["client_secret"]
    else:
        cred = f"{quote(cfg['client_id'], safe='')}:{quote(cfg['client_secret'], safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
    body = "&".join(f"{quote(k, safe='')}={quote(str(v), safe='')}" for k, v in form.items())
    try:
        resp = outbound.fetch(cfg["token_url"], method="POST", headers=headers, body=body.encode(),
                              policy=policy, max_redirects=0)
    except outbound.OutboundFailure as exc:
        raise UpstreamError(f"could not obtain an OAuth2 token from {cfg['token_url']}: {exc}",
                            {"token_url": cfg["token_url"], "error_type": exc.error_type}) from None
    detail = {"token_url": cfg["token_url"], "status_code": resp.status_code}
    try:
        data = resp.json()
    except ValueError:
        data = None
    if resp.status_code != 200 or not isinstance(data, dict) or not data.get("access_token"):
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            detail["error"] = data["error"][:100]
        raise UpstreamError(f"the OAuth2 token endpoint answered {resp.status_code} without an access token", detail)
    try:
        ttl = float(data.get("expires_in") or DEFAULT_TOKEN_TTL_S)
    except (TypeError, ValueError):
        ttl = DEFAULT_TOKEN_TTL_S
    return str(data["access_token"]), ttl


# --------------------------------------------------------------------- apply


def uses_oauth2(cfg: dict | None, use: list[str] | None = None) -> bool:
    """The call's credentials include an OAuth2 token (refreshed once on a 401)."""
    if not cfg:
        return False
    if cfg.get("type") == "schemes":
        return any((cfg["schemes"].get(n) or {}).get("type") == "oauth2" for n in (use or ()))
    return cfg.get("type") == "oauth2"


def apply(cfg: dict | None, built, policy, *, stale_token: str | None = None,
          sensitive: Sensitive | None = None, use: list[str] | None = None) -> str | None:
    """Add the upstream credentials to `built` (a BuiltRequest) in place and
    return the OAuth2 token used, if any. The caller's own Authorization is
    dropped unless the config has `forward_authorization: true`. A per-scheme
    config sends the entries named in `use` (in order)."""
    cfg = cfg or {}
    token = None
    if not cfg.get("forward_authorization"):
        for name in [h for h in built.headers if h.lower() == "authorization"]:
            del built.headers[name]
    for name in (use or ()) if cfg.get("type") == "schemes" else ():
        entry = cfg["schemes"].get(name)
        if entry:
            token = _apply_one(entry, built, policy, stale_token, sensitive) or token
            for header, value in (entry.get("headers") or {}).items():
                _set_header(built.headers, header, value)
    token = _apply_one(cfg, built, policy, stale_token, sensitive) or token
    for name, value in (cfg.get("headers") or {}).items():
        _set_header(built.headers, name, value)
    return token


def _apply_one(cfg: dict, built, policy, stale_token: str | None, sensitive: Sensitive | None) -> str | None:
    token = None
    kind = cfg.get("type")
    if kind == "apiKey":
        where, name, value = cfg.get("in", "header"), cfg["name"], cfg["value"]
        if where == "header":
            _set_header(built.headers, name, value)
        elif where == "query":
            built.query = [q for q in built.query if q.split("=", 1)[0] != quote(name, safe="-._~")]
            built.query.append(f"{quote(name, safe='-._~')}={quote(value, safe='-._~')}")
        else:
            built.cookies[name] = value
    elif kind == "http":
        if str(cfg.get("scheme")).lower() == "bearer":
            _set_header(built.headers, "Authorization", f"Bearer {cfg['token']}")
        else:
            cred = base64.b64encode(f"{cfg['username']}:{cfg['password']}".encode()).decode()
            _set_header(built.headers, "Authorization", f"Basic {cred}")
    elif kind == "oauth2":
        token = oauth2_token(cfg, policy, stale=stale_token)
        if sensitive is not None:
            sensitive.values.add(token)
        _set_header(built.headers, "Authorization", f"Bearer {token}")
    return token


def _set_header(headers: dict, name: str, value: str) -> None:
    for existing in [h for h in headers if h.lower() == name.lower()]:
        del headers[existing]
    headers[name] = value
