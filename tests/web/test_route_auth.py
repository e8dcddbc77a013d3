"""Every management route refuses a request without a key (401) and with
too weak a role (403): walks every route the app registers, so no route can
be added open by mistake."""
from __future__ import annotations

import re

import pytest

from chalicelib.keys.principal import ROLE_RANK, ROLES
from chalicelib.web.api import ROUTES
from chalicelib.web.versions import versioned_paths

# The only routes open without a key: health, the two OpenAPI descriptions
# (published dynamic APIs are meant to be discovered), and the console's
# static files (the console asks for a key before calling anything).
PUBLIC = {("/api/health", "GET"), ("/api/openapi.json", "GET"), ("/api/dynamic-api/openapi.json", "GET"),
          ("/", "GET"), ("/console/{name}", "GET")}
PUBLIC |= {(v, m) for p, m in set(PUBLIC) for v in versioned_paths(p)}


def _routes(app):
    import app as app_module  # noqa: F401  (registers every blueprint)
    metas = {(p, m.method): m for m in ROUTES for p in m.paths}
    out = []
    for path, methods in app.routes.items():
        for method in methods:
            meta = metas.get((path, method))
            out.append((path, method, meta.role if meta else "UNDECLARED"))
    return out


def _concrete(path: str) -> str:
    return re.sub(r"{[^}]+}", "00000000-0000-4000-8000-000000000000", path)


def test_every_route_is_declared_through_api_blueprint(chalice_app):
    undeclared = [(p, m) for p, m, role in _routes(chalice_app) if role == "UNDECLARED"]
    assert undeclared == []


def test_only_known_routes_are_public(chalice_app):
    public = {(p, m) for p, m, role in _routes(chalice_app) if role is None}
    extra = public - PUBLIC
    # Published dynamic APIs check their own permissions per definition.
    extra = {(p, m) for p, m in extra if not p.startswith("/api/dynamic-api/invoke/")}
    assert extra == set()


def test_every_management_route_requires_a_key_and_the_role(chalice_app, anon, keys):
    checked = 0
    for path, method, role in _routes(chalice_app):
        if role is None:
            continue
        url = _concrete(path)
        r = anon.request(method, url, headers={"Content-Type": "application/json"})
        assert r.status == 401, (method, path, r.status, r.body)
        assert r.json["error"]["code"] == "AUTH_ERROR"
        r = anon.request(method, url, headers={"X-API-Key": "sfk_not-a-real-key"})
        assert r.status == 401, (method, path)
        for weaker in ROLES[: ROLE_RANK[role]]:
            r = anon.as_key(keys[weaker]).request(method, url, headers={"Content-Type": "application/json"})
            assert r.status == 403, (method, path, weaker, r.status, r.body)
            assert r.json["error"]["code"] == "PERMISSION_DENIED"
        checked += 1
    assert checked >= 4


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_key_accepted_as_bearer_or_x_api_key(anon, keys, header):
    value = f"Bearer {keys['admin']}" if header == "Authorization" else keys["admin"]
    r = anon.get("/api/keys", headers={header: value})
    assert r.status == 200
