"""A loopback upstream that checks each request against the security its
spec (`spec()`) declares for the path: every scheme type OpenAPI has
(apiKey in header / query / cookie, http basic and bearer, oauth2 client
credentials, openIdConnect), an AND combination and OR alternatives. It
answers 401 {"missing": [...]} when the credentials are not exactly right,
200 {"ok": true} when they are; `/oauth/token` issues the OAuth2 token.
"""
from __future__ import annotations

import base64
import json
from http.cookies import SimpleCookie

from tests.net.loopback_http import LoopbackServer, LoopbackUpstream, Request

SECRETS = {"HeaderKey": "k-header-1", "QueryKey": "k-query-1", "CookieKey": "k-cookie-1",
           "Basic": ("svc", "p-basic-1"), "Bearer": "tok-bearer-1", "OAuth": "tok-issued-1",
           "OAuthClient": ("client-1", "cs-oauth-1"), "Oidc": "tok-oidc-1"}

SCHEMES = {
    "HeaderKey": {"type": "apiKey", "in": "header", "name": "X-Key"},
    "QueryKey": {"type": "apiKey", "in": "query", "name": "key"},
    "CookieKey": {"type": "apiKey", "in": "cookie", "name": "sess"},
    "Basic": {"type": "http", "scheme": "basic"},
    "Bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "OAuth": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}}}},
    "Oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://issuer.example.com/.well-known/openid"},
}

# path -> security requirement (None: the document's)
PATHS = {
    "/apikey-header": [{"HeaderKey": []}], "/apikey-query": [{"QueryKey": []}],
    "/apikey-cookie": [{"CookieKey": []}], "/basic": [{"Basic": []}], "/bearer": [{"Bearer": []}],
    "/oauth2": [{"OAuth": []}], "/oidc": [{"Oidc": []}],
    "/and": [{"HeaderKey": [], "Bearer": []}],
    "/or": [{"Basic": []}, {"HeaderKey": []}],
    "/open": [], "/default": None,
}


def spec(title: str = "schemes") -> str:
    ok = {"responses": {"200": {"description": "ok"}}}
    paths = {}
    for path, sec in PATHS.items():
        op = dict(ok)
        if sec is not None:
            op["security"] = sec
        paths[path] = {"get": op}
    return json.dumps({"openapi": "3.0.3", "info": {"title": title, "version": "1"},
                       "security": [{"QueryKey": []}], "paths": paths,
                       "components": {"securitySchemes": SCHEMES}})


def full_config(token_url: str) -> dict:
    """A per-scheme auth_config giving every scheme of `spec()`."""
    user, password = SECRETS["Basic"]
    cid, csecret = SECRETS["OAuthClient"]
    return {"schemes": {
        "HeaderKey": {"type": "apiKey", "in": "header", "name": "X-Key", "value": SECRETS["HeaderKey"]},
        "QueryKey": {"type": "apiKey", "in": "query", "name": "key", "value": SECRETS["QueryKey"]},
        "CookieKey": {"type": "apiKey", "in": "cookie", "name": "sess", "value": SECRETS["CookieKey"]},
        "Basic": {"type": "http", "scheme": "basic", "username": user, "password": password},
        "Bearer": {"type": "http", "scheme": "bearer", "token": SECRETS["Bearer"]},
        "OAuth": {"type": "oauth2", "flow": "client_credentials", "token_url": token_url, "client_id": cid,
                  "client_secret": csecret},
        "Oidc": {"type": "http", "scheme": "bearer", "token": SECRETS["Oidc"]},
    }}


def _header(req: Request, name: str) -> str | None:
    return next((v for k, v in req.headers.items() if k.lower() == name.lower()), None)


def presented(req: Request) -> set[str]:
    """The schemes whose exact credentials the request carries."""
    found = set()
    if _header(req, "X-Key") == SECRETS["HeaderKey"]:
        found.add("HeaderKey")
    if dict(req.query).get("key") == SECRETS["QueryKey"]:
        found.add("QueryKey")
    cookie = SimpleCookie(_header(req, "Cookie") or "")
    if "sess" in cookie and cookie["sess"].value == SECRETS["CookieKey"]:
        found.add("CookieKey")
    auth = _header(req, "Authorization") or ""
    user, password = SECRETS["Basic"]
    if auth == "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode():
        found.add("Basic")
    for name in ("Bearer", "OAuth", "Oidc"):
        if auth == f"Bearer {SECRETS[name]}":
            found.add(name)
    return found


class SchemeUpstream(LoopbackUpstream):
    def __init__(self):
        self.server = LoopbackServer(self.handle)

    def url(self, path: str = "") -> str:
        return self.server.url(path)

    @property
    def requests(self) -> list[Request]:
        return [r for r in self.server.requests if r.path != "/oauth/token"]

    def handle(self, req: Request):
        if req.path == "/oauth/token":
            cid, csecret = SECRETS["OAuthClient"]
            if _header(req, "Authorization") != "Basic " + base64.b64encode(f"{cid}:{csecret}".encode()).decode():
                return 401, {}, {"error": "invalid_client"}
            return 200, {}, {"access_token": SECRETS["OAuth"], "expires_in": 3600, "token_type": "bearer"}
        path = "/" + req.path.rstrip("/").rsplit("/", 1)[-1]
        if path not in PATHS:
            return 404, {}, {"error": "no such path"}
        sec = PATHS[path] if PATHS[path] is not None else [{"QueryKey": []}]
        have = presented(req)
        if not sec or any(set(alt) <= have for alt in sec):
            return 200, {}, {"ok": True, "path": path, "presented": sorted(have)}
        return 401, {}, {"missing": [sorted(set(alt) - have) for alt in sec]}
